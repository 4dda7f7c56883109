/*  =========================================================================
    zjob_store_sqlite - the SQLite store (placeholder until it is built)
    ========================================================================= */

#include "zjob_store.h"

zjob_store_t *
zjob_store_sqlite_new (const char *path, const char *options, zjob_error_t *err)
{
    (void) path;
    (void) options;
    zjob_error_set (err, ZJOB_INTERNAL, "the sqlite store is not built yet");
    return NULL;
}
