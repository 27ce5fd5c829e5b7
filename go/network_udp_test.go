package sbx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// udp: entries go through the same parser as every allow-list spec: a good one builds and
// relays (python3 in the sandbox gets its echo from the allowed address), a network or port 0
// is refused naming the spec.
func TestAllowConnectUDP(t *testing.T) {
	for _, bad := range []string{"udp:10.0.0.0/8:53", "udp:1.2.3.4:0"} {
		_, err := NewToolPolicyBuilder().AllowConnect(bad).Build()
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), bad) {
			t.Fatalf("bad spec %s: %v", bad, err)
		}
	}
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(append([]byte("GO-ECHO:"), buf[:n]...), from)
		}
	}()
	port := srv.LocalAddr().(*net.UDPAddr).Port
	p, err := withTestMonitor(NewToolPolicyBuilder()).AllowConnect(fmt.Sprintf("udp:127.0.0.1:%d", port)).Build()
	if os.Getenv("SBX_TEST_MONITOR") == "ptrace" {
		if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "ptrace monitor does not proxy") {
			t.Fatalf("ptrace with a udp: entry: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no python3 here: the relay itself was not run")
	}
	script := fmt.Sprintf("import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"+
		"u.settimeout(10)\nu.sendto(b'hi', ('127.0.0.1', %d))\nd, a = u.recvfrom(100)\n"+
		"print(d.decode(), a[0], a[1])\n", port)
	var out strings.Builder
	c := Command("/usr/bin/python3", "-c", script)
	c.Policy = p
	c.Stdout = &out
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("GO-ECHO:hi 127.0.0.1 %d\n", port)
	if res.Status != StatusOK || out.String() != want {
		t.Fatalf("relay: %+v, output %q, want %q", res, out.String(), want)
	}
}
