package sbx

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"
)

func TestVersionMatchesHeader(t *testing.T) {
	if err := CheckVersion(); err != nil {
		t.Fatal(err)
	}
	if Version() != HeaderVersion {
		t.Errorf("sbx_version() = %q, SBX_VERSION_STRING = %q", Version(), HeaderVersion)
	}
	var major, minor, patch uint32
	if _, err := fmt.Sscanf(HeaderVersion, "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("HeaderVersion %q: %v", HeaderVersion, err)
	}
	if got := major<<16 | minor<<8 | patch; got != headerVersionNumber {
		t.Errorf("SBX_VERSION_NUMBER = %#x, want %#x from %q", headerVersionNumber, got, HeaderVersion)
	}
}

// The crate's version is the header's (only checked where the checkout is readable).
func TestVersionMatchesCargoToml(t *testing.T) {
	data, err := os.ReadFile("../Cargo.toml")
	if err != nil {
		t.Skipf("no ../Cargo.toml here: %v", err)
	}
	m := regexp.MustCompile(`(?m)^version\s*=\s*"([^"]+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no version in ../Cargo.toml")
	}
	if string(m[1]) != HeaderVersion {
		t.Errorf("Cargo.toml version %s, header %s", m[1], HeaderVersion)
	}
}

func TestVersionMismatchError(t *testing.T) {
	// The error CheckVersion returns on a mismatch matches both sentinels.
	err := &Error{Code: CodeUnsupported, Op: "sbx_version", Message: "x", match: ErrVersionMismatch}
	if !errors.Is(err, ErrVersionMismatch) || !errors.Is(err, ErrNotSupported) {
		t.Errorf("%v should match ErrVersionMismatch and ErrNotSupported", err)
	}
	if errors.Is(&Error{Code: CodeUnsupported}, ErrVersionMismatch) {
		t.Error("a plain CodeUnsupported error should not match ErrVersionMismatch")
	}
}
