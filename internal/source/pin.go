package source

import (
	"context"
	"net/netip"
	"strings"
)

// gitPin holds what makes one git command connect only to addresses the
// Client checked. git resolves host names itself (curl for http(s), ssh for
// ssh), where no Go dialer can look, so the Client resolves the host first,
// checks every address, and hands git the checked addresses: curl through
// http.curloptResolve, which fills curl's DNS cache for host:port; ssh
// through HostName, with HostKeyAlias keeping known_hosts keyed by the name
// in the URL. git follows no redirect (http.followRedirects=false), so the
// host of the URL is the only one it reaches. A name that resolves
// elsewhere a moment later (DNS rebinding) changes nothing: git never asks.
type gitPin struct {
	// config are -c flags for git.
	config []string
	// ssh is added to the ssh command line.
	ssh string
}

// pin checks the addresses of r's host and returns how git is held to
// them. A URL without a host (file://, or a local command) needs none.
func (c *Client) pin(ctx context.Context, r remote) (gitPin, error) {
	if r.host == "" {
		return gitPin{}, nil
	}
	addrs, err := c.lookup(ctx, r.host)
	if err != nil {
		return gitPin{}, err
	}
	if _, err := netip.ParseAddr(strings.Trim(r.host, "[]")); err == nil {
		return gitPin{}, nil // an IP literal: nothing to resolve
	}
	if r.scheme == schemeSSH {
		alias := r.host
		if r.port != sshPort {
			alias = "[" + r.host + "]:" + r.port
		}
		return gitPin{ssh: " -o HostName=" + addrs[0].String() + " -o HostKeyAlias=" + shellQuote(alias) + " -o CheckHostIP=no"}, nil
	}
	list := make([]string, len(addrs))
	for i, ip := range addrs {
		list[i] = ip.String()
		if ip.Is6() {
			list[i] = "[" + list[i] + "]"
		}
	}
	return gitPin{config: []string{"-c", "http.curloptResolve=" + r.host + ":" + r.port + ":" + strings.Join(list, ",")}}, nil
}
