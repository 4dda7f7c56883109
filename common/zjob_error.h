/*  =========================================================================
    zjob_error - status codes and the error record every layer fills in

    zjob reports failure the same way everywhere: a function returns -1 (or
    NULL) and, when the caller passed a zjob_error_t, fills in an HTTP-like
    status code and a one-line message that a person can act on. The same
    codes travel on the wire (proto/PROTOCOL.md, "Status codes"), so an error
    raised in the job manager reaches a client unchanged. They are defined
    here, once, in the lowest layer, because the job model already needs
    them for illegal transitions.
    ========================================================================= */

#ifndef ZJOB_ERROR_H_INCLUDED
#define ZJOB_ERROR_H_INCLUDED

#include <stdarg.h>
#include "zjob_export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_OK 200                //  Done
#define ZJOB_ACCEPTED 202          //  Taken, not yet finished (async ops)
#define ZJOB_BAD_REQUEST 400       //  Malformed message or invalid field
#define ZJOB_UNAUTHORIZED 401      //  Authentication failed
#define ZJOB_FORBIDDEN 403         //  The key's role may not do that
#define ZJOB_NOT_FOUND 404         //  Unknown job id (or other named object)
#define ZJOB_CONFLICT 409          //  Illegal state transition
#define ZJOB_TOO_LARGE 413         //  Message or field over its limit
#define ZJOB_TOO_MANY 429          //  A limit (queue, rate) is reached
#define ZJOB_INTERNAL 500          //  Broker-side failure (store I/O, memory)
#define ZJOB_VERSION_MISMATCH 505  //  Unsupported protocol version
#define ZJOB_UNAVAILABLE 503       //  Shutting down or store unavailable

#define ZJOB_ERROR_TEXT_MAX 256  //  bytes, including the NUL

typedef struct {
    int code;                         //  One of the codes above
    char text [ZJOB_ERROR_TEXT_MAX];  //  Human-readable, one line
} zjob_error_t;

//  Fill in err (if not NULL) with code and a printf-style message.
//  Always returns -1, so callers can write `return zjob_error_set (...)`.
ZJOB_EXPORT int
zjob_error_set (zjob_error_t *err, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Reset err (if not NULL) to ZJOB_OK with an empty message.
ZJOB_EXPORT void
zjob_error_clear (zjob_error_t *err);

//  Short name of a status code ("not found"), never NULL.
ZJOB_EXPORT const char *
zjob_error_name (int code);

#ifdef __cplusplus
}
#endif

#endif
