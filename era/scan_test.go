package era

import (
	"context"
	"reflect"
	"testing"
	"testing/fstest"
)

func TestAdvertising(t *testing.T) {
	tests := []struct {
		name string
		flag string
		src  string
		want []int // lines that advertise
	}{
		{"6.12 ext4 fop_flags, continued", "FOP_BUFFER_RASYNC",
			"const struct file_operations ext4_file_operations = {\n\t.fallocate\t= ext4_fallocate,\n\t.fop_flags\t= FOP_MMAP_SYNC | FOP_BUFFER_RASYNC |\n\t\t\t  FOP_DIO_PARALLEL_WRITE,\n};\n", []int{3}},
		{"6.12 block fops, flag alone", "FOP_BUFFER_RASYNC",
			"\t.uring_cmd\t= blkdev_uring_cmd,\n\t.fop_flags\t= FOP_BUFFER_RASYNC,\n};\n", []int{2}},
		{"6.12 xfs, flag on the continuation line", "FOP_BUFFER_RASYNC",
			"\t.fop_flags\t= FOP_MMAP_SYNC |\n\t\t\t  FOP_BUFFER_RASYNC | FOP_DIO_PARALLEL_WRITE,\n", []int{2}},
		{"6.12 baseline applied: WASYNC only", "FOP_BUFFER_RASYNC",
			"\t.fop_flags\t= FOP_BUFFER_WASYNC,\n", nil},
		{"io_uring's test is no advertisement", "FOP_BUFFER_RASYNC",
			"\tif (io_file_can_poll(req) ||\n\t    !(req->file->f_op->fop_flags & FOP_BUFFER_RASYNC))\n\t\treturn false;\n", nil},
		{"the definition", "FOP_BUFFER_RASYNC",
			"/* Supports async buffered reads */\n#define FOP_BUFFER_RASYNC\t((__force fop_flags_t)(1 << 0))\n", nil},
		{"a macro that sets it is counted", "FMODE_BUF_RASYNC",
			"#define MY_ASYNC_MODES (FMODE_NOWAIT | FMODE_BUF_RASYNC)\n", []int{1}},
		{"6.1 f_mode at open", "FMODE_BUF_RASYNC",
			"\tfilp->f_mode |= FMODE_NOWAIT | FMODE_BUF_RASYNC | FMODE_BUF_WASYNC;\n\treturn 0;\n", []int{1}},
		{"6.1 flag first after |=", "FMODE_BUF_RASYNC",
			"\tbdev_file->f_mode |= FMODE_BUF_RASYNC | FMODE_CAN_ODIRECT;\n", []int{1}},
		{"6.1 io_uring test", "FMODE_BUF_RASYNC",
			"\tif (file_can_poll(req->file) || !(req->file->f_mode & FMODE_BUF_RASYNC))\n", nil},
		{"cleared", "FMODE_BUF_RASYNC",
			"\tfile->f_mode &= ~FMODE_BUF_RASYNC;\n", nil},
		{"comments, block and line", "FMODE_BUF_RASYNC",
			"/*\n * f_mode |= FMODE_BUF_RASYNC used to be here\n */\n// f_mode |= FMODE_BUF_RASYNC;\nint x; /* FMODE_BUF_RASYNC */\n", nil},
		{"a string naming it", "FMODE_BUF_RASYNC",
			"\tpr_info(\"FMODE_BUF_RASYNC is set\\n\");\n", nil},
		{"preprocessor tests", "FOP_BUFFER_RASYNC",
			"#ifndef FOP_BUFFER_RASYNC\n#define FOP_BUFFER_RASYNC 0\n#endif\n#if defined(FOP_BUFFER_RASYNC)\n#endif\n", nil},
		{"a longer name is another flag", "FMODE_BUF_RASYNC",
			"\tf->f_mode |= FMODE_BUF_RASYNC_X;\n", nil},
		{"set twice on one line counts once", "FMODE_BUF_RASYNC",
			"\ta = FMODE_BUF_RASYNC; b = FMODE_BUF_RASYNC;\n", []int{1}},
		{"a flag variable: unknown use, counted", "FMODE_BUF_RASYNC",
			"\tfmode_t m = FMODE_BUF_RASYNC;\n\tf->f_mode |= m;\n", []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, h := range Advertising("x.c", []byte(tc.src), tc.flag) {
				got = append(got, h.Line)
				if h.Path != "x.c" || h.Text == "" {
					t.Errorf("hit %+v", h)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lines %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScanAndAfter(t *testing.T) {
	ext4 := "static const struct file_operations f = {\n\t.fop_flags\t= FOP_MMAP_SYNC | FOP_BUFFER_RASYNC |\n\t\t\t  FOP_DIO_PARALLEL_WRITE,\n};\n"
	tree := fstest.MapFS{
		"fs/ext4/file.c":         {Data: []byte(ext4)},
		"block/fops.c":           {Data: []byte("\t.fop_flags\t= FOP_BUFFER_RASYNC,\n")},
		"io_uring/rw.c":          {Data: []byte("\tif (!(req->file->f_op->fop_flags & FOP_BUFFER_RASYNC))\n")},
		"include/linux/fs.h":     {Data: []byte("#define FOP_BUFFER_RASYNC\t((__force fop_flags_t)(1 << 0))\n")},
		"Documentation/x.c":      {Data: []byte("\t.fop_flags = FOP_BUFFER_RASYNC,\n")},
		".git/x.c":               {Data: []byte("\t.fop_flags = FOP_BUFFER_RASYNC,\n")},
		"fs/f2fs/file.rst":       {Data: []byte("\t.fop_flags = FOP_BUFFER_RASYNC,\n")},
		"fs/btrfs/file.c":        {Data: []byte("\t.fop_flags\t= FOP_BUFFER_RASYNC | FOP_BUFFER_WASYNC,\n")},
		"fs/xfs/xfs_file.c.orig": {Data: []byte("\t.fop_flags\t= FOP_BUFFER_RASYNC,\n")},
	}
	stock, err := Scan(context.Background(), tree, "FOP_BUFFER_RASYNC")
	if err != nil {
		t.Fatal(err)
	}
	want := []Hit{
		{"block/fops.c", 1, ".fop_flags\t= FOP_BUFFER_RASYNC,"},
		{"fs/btrfs/file.c", 1, ".fop_flags\t= FOP_BUFFER_RASYNC | FOP_BUFFER_WASYNC,"},
		{"fs/ext4/file.c", 2, ".fop_flags\t= FOP_MMAP_SYNC | FOP_BUFFER_RASYNC |"},
	}
	if !reflect.DeepEqual(stock, want) {
		t.Fatalf("Scan = %v\nwant %v", stock, want)
	}

	tests := []struct {
		name    string
		overlay map[string][]byte
		left    []string
	}{
		{"nothing applied", nil, []string{"block/fops.c", "fs/btrfs/file.c", "fs/ext4/file.c"}},
		{"all removed", map[string][]byte{
			"block/fops.c":    []byte("\t.uring_cmd = x,\n"),
			"fs/btrfs/file.c": []byte("\t.fop_flags\t= FOP_BUFFER_WASYNC,\n"),
			"fs/ext4/file.c":  []byte("\t.fop_flags\t= FOP_MMAP_SYNC |\n\t\t\t  FOP_DIO_PARALLEL_WRITE,\n"),
		}, nil},
		{"one missed", map[string][]byte{
			"block/fops.c":   nil, // deleted
			"fs/ext4/file.c": []byte("\t.fop_flags\t= FOP_MMAP_SYNC,\n"),
		}, []string{"fs/btrfs/file.c"}},
		{"a new file that sets it", map[string][]byte{
			"block/fops.c":    []byte("\n"),
			"fs/btrfs/file.c": []byte("\n"),
			"fs/ext4/file.c":  []byte("\n"),
			"fs/new/file.c":   []byte("\t.fop_flags = FOP_BUFFER_RASYNC,\n"),
		}, []string{"fs/new/file.c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range After(stock, tc.overlay, "FOP_BUFFER_RASYNC") {
				got = append(got, h.Path)
			}
			if !reflect.DeepEqual(got, tc.left) {
				t.Errorf("After = %v, want %v", got, tc.left)
			}
		})
	}
}
