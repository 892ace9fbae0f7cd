package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NetConfig is the static IPv4 setup of the guest's first ethernet link.
type NetConfig struct {
	Addr    netip.Prefix // e.g. 10.0.2.15/24
	Gateway netip.Addr   // e.g. 10.0.2.2; invalid means no default route
}

// QEMUUserNet is the fixed layout of QEMU's user-mode network (slirp):
// no DHCP needed.
var QEMUUserNet = NetConfig{
	Addr:    netip.MustParsePrefix("10.0.2.15/24"),
	Gateway: netip.MustParseAddr("10.0.2.2"),
}

// NetUp brings lo up and configures the first ethernet link with cfg over
// rtnetlink, waiting (until ctx is done) for the link to appear. It returns
// the name of the configured link.
func NetUp(ctx context.Context, cfg NetConfig) (string, error) {
	nl, err := openNetlink()
	if err != nil {
		return "", err
	}
	defer nl.close()
	if lo, err := net.InterfaceByName("lo"); err == nil {
		if err := nl.linkUp(lo.Index); err != nil {
			return "", fmt.Errorf("lo up: %w", err)
		}
	}
	eth, err := waitEthernet(ctx)
	if err != nil {
		return "", err
	}
	if err := nl.linkUp(eth.Index); err != nil {
		return "", fmt.Errorf("%s up: %w", eth.Name, err)
	}
	if err := nl.addAddr(eth.Index, cfg.Addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return "", fmt.Errorf("%s addr %s: %w", eth.Name, cfg.Addr, err)
	}
	if cfg.Gateway.IsValid() {
		if err := nl.addDefaultRoute(eth.Index, cfg.Gateway); err != nil && !errors.Is(err, unix.EEXIST) {
			return "", fmt.Errorf("default route via %s: %w", cfg.Gateway, err)
		}
	}
	return eth.Name, nil
}

// waitEthernet returns the first non-loopback link with a MAC address,
// eth0 first; a built-in driver may still be probing when we start.
func waitEthernet(ctx context.Context) (*net.Interface, error) {
	for {
		ifs, err := net.Interfaces()
		if err == nil {
			var found *net.Interface
			for i := range ifs {
				ifc := &ifs[i]
				if ifc.Flags&net.FlagLoopback != 0 || len(ifc.HardwareAddr) != 6 {
					continue
				}
				if ifc.Name == "eth0" {
					return ifc, nil
				}
				if found == nil {
					found = ifc
				}
			}
			if found != nil {
				return found, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no ethernet link appeared (have %v): %w", ifNames(ifs), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ifNames(ifs []net.Interface) []string {
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names
}

// rtnetlink is a NETLINK_ROUTE socket for a few synchronous requests.
type rtnetlink struct {
	fd  int
	seq atomic.Uint32
}

func openNetlink() (*rtnetlink, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		_ = unix.Close(fd) // error path: the socket is dropped either way
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// Replies never take long; a timeout keeps a lost one from hanging boot.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		_ = unix.Close(fd) // error path: the socket is dropped either way
		return nil, fmt.Errorf("netlink receive timeout: %w", err)
	}
	return &rtnetlink{fd: fd}, nil
}

// close drops the socket; a netlink socket's close loses nothing.
func (nl *rtnetlink) close() { _ = unix.Close(nl.fd) }

func (nl *rtnetlink) linkUp(index int) error {
	// struct ifinfomsg: family, pad, type u16, index i32, flags u32, change u32
	msg := make([]byte, unix.SizeofIfInfomsg)
	msg[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(msg[4:], uint32(index))
	binary.NativeEndian.PutUint32(msg[8:], unix.IFF_UP)
	binary.NativeEndian.PutUint32(msg[12:], unix.IFF_UP)
	return nl.request(unix.RTM_NEWLINK, 0, msg)
}

func (nl *rtnetlink) addAddr(index int, p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("only IPv4 is supported, got %s", p)
	}
	// struct ifaddrmsg: family, prefixlen, flags, scope u8; index u32
	msg := make([]byte, unix.SizeofIfAddrmsg)
	msg[0] = unix.AF_INET
	msg[1] = byte(p.Bits())
	msg[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(msg[4:], uint32(index))
	ip := p.Addr().As4()
	msg = appendAttr(msg, unix.IFA_LOCAL, ip[:])
	msg = appendAttr(msg, unix.IFA_ADDRESS, ip[:])
	return nl.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, msg)
}

func (nl *rtnetlink) addDefaultRoute(index int, gw netip.Addr) error {
	if !gw.Is4() {
		return fmt.Errorf("only IPv4 is supported, got %s", gw)
	}
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type u8; flags u32
	msg := make([]byte, unix.SizeofRtMsg)
	msg[0] = unix.AF_INET
	msg[4] = unix.RT_TABLE_MAIN
	msg[5] = unix.RTPROT_BOOT
	msg[6] = unix.RT_SCOPE_UNIVERSE
	msg[7] = unix.RTN_UNICAST
	ip := gw.As4()
	msg = appendAttr(msg, unix.RTA_GATEWAY, ip[:])
	oif := make([]byte, 4)
	binary.NativeEndian.PutUint32(oif, uint32(index))
	msg = appendAttr(msg, unix.RTA_OIF, oif)
	return nl.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, msg)
}

func appendAttr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	hdr := make([]byte, unix.SizeofRtAttr)
	binary.NativeEndian.PutUint16(hdr[0:], uint16(l))
	binary.NativeEndian.PutUint16(hdr[2:], typ)
	b = append(b, hdr...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// request sends one message asking for an ACK and returns the kernel's
// verdict as an errno.
func (nl *rtnetlink) request(typ uint16, flags uint16, body []byte) error {
	seq := nl.seq.Add(1)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	msg = append(msg, body...)
	if err := unix.Sendto(nl.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 64*1024)
	for {
		n, _, err := unix.Recvfrom(nl.fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink parse: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("netlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}
