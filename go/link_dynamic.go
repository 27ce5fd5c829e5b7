//go:build !sbxstatic

package sbx

// Dynamic linking (the default): pkg-config's "sbx" package gives the include directory and
// -lsbx, so the program loads libsbx.so.<major> at run time. See the package documentation
// for pointing PKG_CONFIG_PATH at an installed libsbx or at the repository's build tree.

// #cgo pkg-config: sbx
import "C"
