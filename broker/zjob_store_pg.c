/*  =========================================================================
    zjob_store_pg - the PostgreSQL store (placeholder until it is built)
    ========================================================================= */

#include "zjob_store.h"

zjob_store_t *
zjob_store_pg_new (const char *conninfo, const char *options, zjob_error_t *err)
{
    (void) conninfo;
    (void) options;
    zjob_error_set (err, ZJOB_INTERNAL, "the postgres store is not built yet");
    return NULL;
}
