/*  =========================================================================
    zjob_error - status codes and the error record every layer fills in

    The record is a plain struct the caller owns (usually on its stack), so
    reporting an error never allocates and cannot itself fail. Messages are
    cut to one line of ZJOB_ERROR_TEXT_MAX - 1 bytes: they travel in a
    reply frame and a log line, where a newline would break the format.
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include "zjob_error.h"

int
zjob_error_set (zjob_error_t *err, int code, const char *format, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list args;
    va_start (args, format);
    int rc = vsnprintf (err->text, sizeof (err->text), format, args);
    va_end (args);
    if (rc < 0)
        err->text [0] = 0;
    //  One line: control characters would break a log line or a frame
    for (char *c = err->text; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    return -1;
}

void
zjob_error_clear (zjob_error_t *err)
{
    if (err) {
        err->code = ZJOB_OK;
        err->text [0] = 0;
    }
}

const char *
zjob_error_name (int code)
{
    switch (code) {
        case ZJOB_OK: return "ok";
        case ZJOB_ACCEPTED: return "accepted";
        case ZJOB_BAD_REQUEST: return "bad request";
        case ZJOB_UNAUTHORIZED: return "unauthorized";
        case ZJOB_FORBIDDEN: return "forbidden";
        case ZJOB_NOT_FOUND: return "not found";
        case ZJOB_CONFLICT: return "conflict";
        case ZJOB_TOO_LARGE: return "too large";
        case ZJOB_TOO_MANY: return "too many";
        case ZJOB_INTERNAL: return "internal error";
        case ZJOB_UNAVAILABLE: return "unavailable";
        case ZJOB_VERSION_MISMATCH: return "version mismatch";
        default: return "unknown";
    }
}
