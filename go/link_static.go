//go:build sbxstatic

package sbx

// Static linking (build tag sbxstatic): pkg-config's "sbx-static" package names libsbx.a
// itself plus the system libraries it needs, so the program has no run-time dependency on
// libsbx.so. scripts/install.sh installs sbx-static.pc beside sbx.pc.

// #cgo pkg-config: sbx-static
import "C"
