// Package loopback answers one question in one place: does a host name or
// listen address stay on this machine? Vendor URLs may use plain HTTP only
// there, and the dashboard may run without a login only there.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a name or IP, without port; IPv6 with or
// without brackets) is a loopback host: "localhost", a name under
// ".localhost" (RFC 6761 reserves both for loopback), 127.0.0.0/8 or ::1.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether a listen address (host:port) binds loopback only.
// An empty host (":8080") binds every interface, so it is not loopback.
func Addr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && Host(host)
}
