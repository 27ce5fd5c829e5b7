package sbx

/*
#include <stdlib.h>
#include <sbx.h>
*/
import "C"

// LoadOCIProfile adds the rules of a Docker/OCI seccomp profile (JSON, the shape of moby's
// default.json) after the builder's own and sets the default action from it; see
// sbx_policy_builder_load_oci_profile in sbx.h for the mapping (ALLOW and LOG allow, ERRNO fails
// with the errno, KILL* and TRAP are violations, TRACE and NOTIFY go to Cmd.Notify's Trace).
// includes/excludes are evaluated for the running kernel and caps (such as "CAP_SYS_ADMIN";
// none: an unprivileged container, which is what a sandboxee is). origin names the profile in
// errors.
//
// It returns the report (a line of counts, then "excluded: ...", "unknown: ..." and
// "override: ..." lines, the last naming where libsbx's mandatory rules decide differently from
// the profile). A bad profile adds nothing, is returned as ErrInvalidPolicy naming origin, the
// JSON path and the problem, and makes Build fail with it too.
func (b *PolicyBuilder) LoadOCIProfile(profile, origin string, caps ...string) (string, error) {
	const op = "sbx_policy_builder_load_oci_profile"
	arr, err := newCStringArray(op, "capability", caps)
	if err != nil {
		b.fail(err)
		return "", err
	}
	defer arr.free()
	var report *C.char
	b.withStrings(op, "profile", profile, "origin", origin,
		func(p *C.sbx_policy_builder, cj, co *C.char, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_policy_builder_load_oci_profile(p, cj, co, arr.ptr(), arr.len(), &report, cerr)
		})
	if b.err != nil {
		return "", b.err
	}
	defer C.sbx_string_free(report)
	return C.GoString(report), nil
}
