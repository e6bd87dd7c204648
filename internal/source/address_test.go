package source

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAddressClass(t *testing.T) {
	tests := map[string]string{
		"8.8.8.8":                   ClassPublic,
		"2001:4860:4860::8888":      ClassPublic,
		"192.0.2.2":                 ClassPublic,
		"10.1.2.3":                  ClassPrivate,
		"172.16.0.1":                ClassPrivate,
		"172.31.255.255":            ClassPrivate,
		"192.168.1.1":               ClassPrivate,
		"100.64.0.1":                ClassPrivate,
		"fd12:3456::1":              ClassPrivate,
		"127.0.0.1":                 ClassLoopback,
		"127.255.0.9":               ClassLoopback,
		"::1":                       ClassLoopback,
		"::ffff:127.0.0.1":          ClassLoopback,
		"64:ff9b::7f00:1":           ClassLoopback,
		"169.254.169.254":           ClassLinkLocal,
		"::ffff:169.254.169.254":    ClassLinkLocal,
		"64:ff9b::a9fe:a9fe":        ClassLinkLocal,
		"fe80::1":                   ClassLinkLocal,
		"fe80::1%eth0":              ClassLinkLocal,
		"fd00:ec2::254":             ClassLinkLocal,
		"100.100.100.200":           ClassLinkLocal,
		"0.0.0.0":                   ClassUnspecified,
		"0.1.2.3":                   ClassUnspecified,
		"::":                        ClassUnspecified,
		"::ffff:0.0.0.0":            ClassUnspecified,
		"239.1.2.3":                 ClassMulticast,
		"ff02::1":                   ClassLinkLocal, // link-local multicast
		"ff05::2":                   ClassMulticast,
		"255.255.255.255":           ClassMulticast,
		"::ffff:10.0.0.1":           ClassPrivate,
		"2606:4700:4700::1111":      ClassPublic,
		"64:ff9b::808:808":          ClassPublic,
		"::ffff:192.168.100.100":    ClassPrivate,
		"::ffff:100.100.100.200":    ClassLinkLocal,
		"64:ff9b::6464:64c8":        ClassLinkLocal,
		"64:ff9b::ffff:ffff":        ClassMulticast,
		"2002:a9fe:a9fe::1":         ClassPublic, // 6to4 leaves the host
		"::ffff:255.255.255.255":    ClassMulticast,
		"::ffff:224.0.0.251":        ClassLinkLocal,
		"fe80::a9fe:a9fe":           ClassLinkLocal,
		"fd00:ec2:0:0:0:0:0:254":    ClassLinkLocal,
		"FD00:EC2::254":             ClassLinkLocal,
		"::ffff:7f00:1":             ClassLoopback,
		"0000:0000:0000:0000::0001": ClassLoopback,
	}
	for s, want := range tests {
		if got := AddressClass(netip.MustParseAddr(s)); got != want {
			t.Errorf("AddressClass(%s) = %s, want %s", s, got, want)
		}
	}
	if got := AddressClass(netip.Addr{}); got != ClassUnspecified {
		t.Errorf("AddressClass(zero) = %s, want %s", got, ClassUnspecified)
	}
}

// TestAddressRule: the dev flag lets loopback through and nothing else;
// link-local, unspecified and multicast are refused whatever the flags;
// private is allowed unless refused. A refusal names the address class.
func TestAddressRule(t *testing.T) {
	rules := map[string]addressRule{
		"default":      {},
		"dev":          {allowLoopback: true},
		"deny-private": {denyPrivate: true},
		"dev+deny":     {allowLoopback: true, denyPrivate: true},
	}
	allowed := map[string]map[string]bool{
		ClassPublic:      {"default": true, "dev": true, "deny-private": true, "dev+deny": true},
		ClassPrivate:     {"default": true, "dev": true},
		ClassLoopback:    {"dev": true, "dev+deny": true},
		ClassLinkLocal:   {},
		ClassUnspecified: {},
		ClassMulticast:   {},
	}
	sample := map[string]string{
		ClassPublic: "8.8.8.8", ClassPrivate: "10.0.0.1", ClassLoopback: "127.0.0.1",
		ClassLinkLocal: "169.254.169.254", ClassUnspecified: "0.0.0.0", ClassMulticast: "239.1.2.3",
	}
	for class, ip := range sample {
		for name, rule := range rules {
			err := rule.check("repo.example", netip.MustParseAddr(ip))
			if want := allowed[class][name]; (err == nil) != want {
				t.Errorf("%s rule, %s address %s: err = %v, want allowed %v", name, class, ip, err, want)
			}
			if err != nil && (!strings.Contains(err.Error(), "is a "+class+" address") || !strings.Contains(err.Error(), "repo.example ("+ip+")")) {
				t.Errorf("refusal %q does not name the host, address and class %s", err, class)
			}
		}
	}
}
