package source

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Classes of IP address the dial rule tells apart. A repository URL such
// as https://169.254.169.254/ or http://127.0.0.1:10250/ would otherwise
// let whoever writes an Application make the controller send requests (and
// credentials) to the cloud's metadata service or to the services of its
// own host (issue 10).
const (
	// ClassPublic: any address not named below. Always allowed.
	ClassPublic = "public"
	// ClassPrivate: 10/8, 172.16/12, 192.168/16, 100.64/10 (shared address
	// space) and fc00::/7. Allowed unless Options.DenyPrivate is set:
	// self-hosted git servers commonly live there.
	ClassPrivate = "private"
	// ClassLoopback: 127/8 and ::1, the controller's own host. Allowed only
	// with Options.AllowLoopback (local development).
	ClassLoopback = "loopback"
	// ClassLinkLocal: 169.254/16 and fe80::/10, where cloud metadata
	// services answer, and the metadata addresses some clouds put elsewhere
	// (fd00:ec2::254, 100.100.100.200). Always refused.
	ClassLinkLocal = "link-local"
	// ClassUnspecified: 0.0.0.0/8 and ::, which Linux connects to the
	// host itself. Always refused.
	ClassUnspecified = "unspecified"
	// ClassMulticast: multicast and the IPv4 broadcast address, where no
	// repository lives. Always refused.
	ClassMulticast = "multicast"
)

var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork        = netip.MustParsePrefix("0.0.0.0/8")
	nat64Prefix        = netip.MustParsePrefix("64:ff9b::/96")
	broadcastIPv4      = netip.MustParseAddr("255.255.255.255")
	// metadataAddrs are cloud metadata services outside the link-local
	// ranges: AWS's IPv6 endpoint and Alibaba Cloud's.
	metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200")}
)

// AddressClass returns the class of ip, one of the Class* constants. An
// IPv4 address written as IPv6 (::ffff:a.b.c.d, or 64:ff9b::a.b.c.d, which
// a NAT64 gateway forwards to a.b.c.d) has the class of the IPv4 address.
func AddressClass(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && nat64Prefix.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:16]))
	}
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.Is4() && thisNetwork.Contains(ip):
		return ClassUnspecified
	case ip.IsLoopback():
		return ClassLoopback
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), isMetadataAddr(ip):
		return ClassLinkLocal
	case ip.IsMulticast(), ip == broadcastIPv4:
		return ClassMulticast
	case ip.IsPrivate(), sharedAddressSpace.Contains(ip):
		return ClassPrivate
	}
	return ClassPublic
}

func isMetadataAddr(ip netip.Addr) bool {
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

// addressRule decides which addresses the Client connects to.
type addressRule struct {
	allowLoopback bool
	denyPrivate   bool
}

// check returns an *Error of kind ErrAddressRefused when ip may not be
// connected to. host is the name that resolved to ip, for the message.
func (r addressRule) check(host string, ip netip.Addr) error {
	class := AddressClass(ip)
	var why string
	switch class {
	case ClassPublic:
		return nil
	case ClassPrivate:
		if !r.denyPrivate {
			return nil
		}
		why = "private addresses are refused by the controller's --deny-private-repos"
	case ClassLoopback:
		if r.allowLoopback {
			return nil
		}
		why = "loopback addresses are allowed only in local development (--allow-local-repos)"
	case ClassLinkLocal:
		why = "link-local addresses, where cloud metadata services answer, are always refused"
	default:
		why = class + " addresses are always refused"
	}
	name := ip.Unmap().String()
	if host != "" && host != name {
		name = host + " (" + name + ")"
	}
	return &Error{Kind: ErrAddressRefused, Detail: fmt.Sprintf("%s is a %s address: %s", name, class, why)}
}

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// lookup returns the addresses of host (an IP literal stands for itself)
// after checking every one of them: a name with one refused address is
// refused whole, so which address a client picks never matters.
func (c *Client) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := c.rule.check("", ip); err != nil {
			return nil, err
		}
		return []netip.Addr{ip}, nil
	}
	addrs, err := c.opts.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, &Error{Kind: ErrUnreachable, Detail: "cannot resolve host " + host, cause: err}
	}
	if len(addrs) == 0 {
		return nil, &Error{Kind: ErrUnreachable, Detail: "host " + host + " has no address"}
	}
	for _, ip := range addrs {
		if err := c.rule.check(host, ip); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// dialContext connects to address (host:port) as net.Dialer does, after
// resolving the host with the Client's Resolver and checking every address.
// It dials the checked addresses themselves, so a name that resolves
// differently a moment later (DNS rebinding) changes nothing; the dialer's
// Control function checks each address again as the socket connects.
func (c *Client) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := c.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: dialTimeout, Control: c.rule.control}
	var firstErr error
	for _, ip := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// control is a net.Dialer Control function: it sees the address a socket
// is about to connect to, whatever resolved it.
func (r addressRule) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %q: not an IP address", address)
	}
	return r.check("", ip)
}

// AddressRule is the rule the source Client dials by, for other clients
// that must send to the same addresses only (Notification providers):
// link-local, unspecified and multicast always refused, loopback only with
// AllowLoopback, private ones refused with DenyPrivate.
type AddressRule struct {
	AllowLoopback bool
	DenyPrivate   bool
}

func (r AddressRule) rule() addressRule {
	return addressRule{allowLoopback: r.AllowLoopback, denyPrivate: r.DenyPrivate}
}

// Control is a net.Dialer Control function: it refuses, as the socket
// connects, an address the rule does not allow, with an *Error of kind
// ErrAddressRefused.
func (r AddressRule) Control(network, address string, c syscall.RawConn) error {
	return r.rule().control(network, address, c)
}
