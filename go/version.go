package sbx

// #include <sbx.h>
import "C"

import (
	"fmt"
	"sync"
)

// HeaderVersion is the libsbx release of the sbx.h this package was compiled against
// ("MAJOR.MINOR.PATCH", SBX_VERSION_STRING).
const HeaderVersion = C.SBX_VERSION_STRING

// headerVersionNumber is SBX_VERSION_NUMBER: (MAJOR << 16) | (MINOR << 8) | PATCH.
const headerVersionNumber = uint32(C.SBX_VERSION_NUMBER)

// Version returns the version of the libsbx library loaded at run time ("MAJOR.MINOR.PATCH",
// sbx_version()). It can differ from HeaderVersion when a program built against one release
// loads another libsbx.so; CheckVersion detects that.
func Version() string {
	return C.GoString(C.sbx_version())
}

var (
	versionOnce sync.Once
	versionErr  error
)

// CheckVersion reports whether the loaded libsbx is the release the header described when
// this package was compiled: nil when sbx_version() and sbx_version_number() equal
// SBX_VERSION_STRING and SBX_VERSION_NUMBER, else an *Error with CodeUnsupported that also
// matches ErrVersionMismatch.
//
// The package runs the check once, before its first C call that builds a policy or starts a
// sandbox, and fails those calls with this error on a mismatch; calling it directly is only
// useful to fail early at program start.
func CheckVersion() error {
	versionOnce.Do(func() {
		lib := Version()
		libNum := uint32(C.sbx_version_number())
		if lib != HeaderVersion || libNum != headerVersionNumber {
			versionErr = &Error{
				Code:    CodeUnsupported,
				Op:      "sbx_version",
				Message: fmt.Sprintf("loaded libsbx %s (%#x) but sbx.h is %s (%#x); rebuild the program against the installed libsbx", lib, libNum, HeaderVersion, headerVersionNumber),
				match:   ErrVersionMismatch,
			}
		}
	})
	return versionErr
}
