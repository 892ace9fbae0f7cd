package proto

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"64M", 64 << 20, true},
		{"64MiB", 64 << 20, true},
		{"1G", 1 << 30, true},
		{"512k", 512 << 10, true},
		{"4096", 4096, true},
		{"0", 0, false},
		{"-1M", 0, false},
		{"M", 0, false},
		{"12X", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		16 << 20: "16M", 64 << 10: "64K", 1 << 30: "1G", 2 << 40: "2T",
		1536 << 10: "1536K", 4097: "4097", 0: "0",
	} {
		got := FormatSize(n)
		if got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseSize(got); n > 0 && (err != nil || back != n) {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
}
