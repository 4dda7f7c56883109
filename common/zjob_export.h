/*  =========================================================================
    zjob_export - which functions libzjob.so exports

    libzjob.so is compiled with -fvisibility=hidden: a function is part of
    its ABI only when its declaration carries ZJOB_EXPORT. Everything else
    the library is built from (the wire codec, the msgpack scanner, the
    process runner, the job's internals) stays out of the dynamic symbol
    table, so programs cannot come to depend on it and it can change in
    any release. docs/ARCHITECTURE.md, "Public API and ABI", says which
    headers are public and when the SOVERSION changes.

    The static libraries the tree's own programs and tests link are built
    with the default visibility; there the macro changes nothing.
    ========================================================================= */

#ifndef ZJOB_EXPORT_H_INCLUDED
#define ZJOB_EXPORT_H_INCLUDED

#if defined(__GNUC__) && __GNUC__ >= 4
#define ZJOB_EXPORT __attribute__ ((visibility ("default")))
#else
#define ZJOB_EXPORT
#endif

#endif
