package sbx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
)

// runCurl runs curl against url under p (closed at the end of the test), stdout captured.
func runCurl(t *testing.T, p *Policy, url string) (*Result, string) {
	t.Helper()
	t.Cleanup(p.Close)
	var out strings.Builder
	c := Command("curl", "-sS", "--max-time", "10", url)
	c.Policy = p
	c.Stdout = &out
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, out.String()
}

// Network allow-list: curl reaches an allowed host server; another port is a network
// violation naming the address; with RefuseConnect the connect fails and the run goes on.
func TestAllowConnect(t *testing.T) {
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no curl here")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "go-host-page")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	ptrace := os.Getenv("SBX_TEST_MONITOR") == "ptrace"
	p, err := withTestMonitor(NewToolPolicyBuilder()).AllowConnect(addr).Build()
	if ptrace {
		if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "ptrace monitor does not proxy") {
			t.Fatalf("ptrace with an allow-list: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	res, out := runCurl(t, p, srv.URL+"/")
	if res.Status != StatusOK || res.ExitCode != 0 || out != "go-host-page" || len(res.DeniedConnects) != 0 {
		t.Fatalf("allowed: %+v, output %q", res, out)
	}
	other := fmt.Sprintf("127.0.0.1:%d", atoiOrZero(port)^1)
	p, err = withTestMonitor(NewToolPolicyBuilder()).AllowConnect(addr).Build()
	if err != nil {
		t.Fatal(err)
	}
	res, _ = runCurl(t, p, "http://"+other+"/")
	if res.Status != StatusViolation || res.Reason != "VIOLATION_NETWORK" || len(res.DeniedConnects) != 1 ||
		res.DeniedConnects[0].Address != other || res.DeniedConnects[0].Family != "inet" || res.DeniedConnects[0].Pid <= 0 {
		t.Fatalf("denied: %+v", res)
	}
	p, err = withTestMonitor(NewToolPolicyBuilder()).AllowConnect(addr).RefuseConnect(syscall.ECONNREFUSED).Build()
	if err != nil {
		t.Fatal(err)
	}
	res, _ = runCurl(t, p, "http://"+other+"/")
	// curl's "could not connect" is exit code 7.
	if res.Status != StatusOK || res.ExitCode != 7 || len(res.DeniedConnects) != 1 {
		t.Fatalf("refused: %+v", res)
	}
	// A bad spec is named by Build.
	_, err = NewToolPolicyBuilder().AllowConnect("10.0.0.0/33:1").Build()
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "10.0.0.0/33:1") {
		t.Fatalf("bad spec: %v", err)
	}
}

func atoiOrZero(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
