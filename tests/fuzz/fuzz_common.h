/*  =========================================================================
    fuzz_common - what every harness of tests/fuzz shares

    A harness runs millions of inputs in one process: it must print
    nothing per input (CZMQ's log goes nowhere) and leave nothing behind
    (ASan's leak check runs at the end). Header only, so that each harness
    stays one file.
    ========================================================================= */

#ifndef FUZZ_COMMON_H_INCLUDED
#define FUZZ_COMMON_H_INCLUDED

#include <czmq.h>
#include "zjob_log.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Turn the logs (zjob_log, used by the store and the config, and CZMQ's
//  own) off, once: CZMQ's after zsys_init, which would set it back to
//  stdout
static inline void
fuzz_quiet (void)
{
    static bool quiet = false;
    if (!quiet) {
        zsys_init ();
        zsys_set_logstream (NULL);
        zsys_set_logsystem (false);
        zsys_set_logsender (NULL);
        zjob_log_set_stream (fopen ("/dev/null", "w"));
        quiet = true;
    }
}

//  Make a fresh directory from template, a name ending in XXXXXX, under
//  /dev/shm when there is one: on a disk, the files a harness rewrites
//  for each input (and the journal's fdatasyncs on upgrade and salvage)
//  cost a flush each, a hundred times the decoding. Fills path (size
//  bytes); aborts if it cannot.
static inline void
fuzz_tmpdir (char *path, size_t size, const char *template_)
{
    struct stat info;
    const char *base = stat ("/dev/shm", &info) == 0 && S_ISDIR (info.st_mode)
        ? "/dev/shm"
        : "/tmp";
    snprintf (path, size, "%s/%s", base, template_);
    if (!mkdtemp (path))
        abort ();
}

//  A NUL-terminated copy of size bytes (the caller frees it)
static inline char *
fuzz_text (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    if (!text)
        abort ();
    if (size)
        memcpy (text, data, size);
    text [size] = 0;
    return text;
}

#endif
