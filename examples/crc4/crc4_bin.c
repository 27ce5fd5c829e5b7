/*
 * The sandboxee of the crc4 example (after sandbox2's crc4 example): a sandbox-aware program
 * that computes CRC-32 checksums of buffers its host sends over comms.
 *
 * It is started with sbx_executor_set_sandbox_before_exec(e, false), so it begins under
 * libsbx's mandatory rules only: it claims its comms channel, then calls
 * sbx_client_sandbox_me_here, and from then on runs under the host's tight policy (receive,
 * send, memory, exit). Protocol, repeated: receive a byte array; an empty one ends the program;
 * otherwise answer with its CRC-32 (IEEE 802.3, as zlib's crc32()) as a uint32.
 *
 * It has a deliberate memory bug: checksum() copies the input into a fixed 64-byte stack buffer
 * without checking the length. A long input overwrites the stack until the copy reaches memory
 * that is not writable, and the sandboxee dies of SIGSEGV; the host is not affected. (It is
 * built without stack protector and _FORTIFY_SOURCE so that the bug shows as the plain memory
 * fault it is, rather than as one of those detectors aborting.)
 */
#include <stddef.h>
#include <stdint.h>

#include <sbx.h>

/* CRC-32, reflected polynomial 0xEDB88320, bit by bit. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
    uint32_t crc = 0xffffffffu;
    size_t i;
    int bit;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t checksum(const uint8_t *data, size_t len) {
    uint8_t buf[64];
    volatile uint8_t *dst = buf;
    size_t i;
    /* BUG (deliberate): nothing checks that len <= sizeof buf. */
    for (i = 0; i < len; i++) dst[i] = data[i];
    return crc32_ieee(buf, len);
}

int main(void) {
    sbx_comms *comms = NULL;
    uint8_t *data = NULL;
    size_t len = 0;

    /* Still unconfined here (but for the mandatory rules): the place to open files or load
     * data. Then the policy, for every thread of the process. */
    if (sbx_comms_client(&comms, NULL) != SBX_STATUS_OK) return 2;
    sbx_client_sandbox_me_here(comms); /* exits with 127 if the policy cannot be applied */

    for (;;) {
        if (sbx_comms_recv_bytes(comms, &data, &len, NULL) != SBX_STATUS_OK) return 3;
        if (len == 0) break;
        if (sbx_comms_send_uint32(comms, checksum(data, len), NULL) != SBX_STATUS_OK) return 4;
        sbx_bytes_free(data);
    }
    sbx_bytes_free(data);
    sbx_comms_free(comms);
    return 0;
}
