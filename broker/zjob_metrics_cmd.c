/*  =========================================================================
    zjob_metrics_cmd - the METRICS command: the broker's metrics as text

    The figures are gathered into one array of zjob_metrics_workflow_t,
    one entry per workflow with stored jobs (the tally's), indexed for the
    ready lists' pass by a zhashx of the tally's own names, which live as
    long as this call.
    ========================================================================= */

#include "zjob_metrics_cmd.h"
#include "zjob_queue.h"
#include "zjob_version.h"
#include "zjob_util.h"

//  The per-workflow figures being gathered
typedef struct {
    zjob_metrics_workflow_t *items;
    size_t count;
    size_t max;
    zhashx_t *index;  //  workflow -> item (borrowed keys)
} s_gather_t;

static void
s_counted (const char *workflow_id, const size_t counts [ZJOB_STATUS_COUNT], void *arg)
{
    s_gather_t *gather = (s_gather_t *) arg;
    if (gather->count >= gather->max)
        return;
    zjob_metrics_workflow_t *item = &gather->items [gather->count++];
    item->workflow = workflow_id;
    memcpy (item->jobs, counts, sizeof item->jobs);
    zhashx_insert (gather->index, workflow_id, item);
}

static void
s_ready (const char *workflow, size_t ready, int64_t oldest_ms, void *arg)
{
    s_gather_t *gather = (s_gather_t *) arg;
    zjob_metrics_workflow_t *item = (zjob_metrics_workflow_t *) zhashx_lookup (gather->index,
                                                                               workflow);
    if (item) {
        item->ready = ready;
        item->oldest_ready_ms = oldest_ms;
    }
}

//  The registry's figures, and STATS' held_by_limit
static void
s_workers (zjob_manager_t *manager, zjob_registry_t *registry, zjob_metrics_figures_t *figures)
{
    uint64_t credit = 0;
    zjob_registry_worker_t *worker = zjob_registry_first (registry);
    for (; worker; worker = zjob_registry_next (registry)) {
        figures->slots += worker->slots;
        figures->busy += worker->holding;
        credit += worker->dead ? 0 : worker->credit;
    }
    figures->workers = zjob_registry_size (registry);
    figures->max_concurrent = zjob_manager_max_concurrent (manager);
    figures->held_by_max_concurrent = figures->max_concurrent && zjob_manager_queued (manager)
        && credit && zjob_manager_active (manager) >= figures->max_concurrent;
}

//  The store's figures: a file store's journal_bytes and compactions
static void
s_store (zjob_manager_t *manager, zjob_metrics_figures_t *figures)
{
    zhashx_t *stats = zjob_hashx_new ();
    if (!stats)
        return;
    zjob_manager_store_stats (manager, stats);
    const char *bytes = (const char *) zhashx_lookup (stats, "journal_bytes");
    const char *compactions = (const char *) zhashx_lookup (stats, "compactions");
    figures->journal = bytes != NULL;
    figures->journal_bytes = bytes ? strtoull (bytes, NULL, 10) : 0;
    figures->compactions = compactions ? strtoull (compactions, NULL, 10) : 0;
    zhashx_destroy (&stats);
}

int
zjob_metrics_cmd_text (zjob_metrics_t *metrics, zjob_manager_t *manager,
                       zjob_registry_t *registry, zjob_publisher_t *publisher, char **text_p,
                       size_t *size_p, zjob_error_t *err)
{
    assert (metrics && manager && registry && text_p);
    size_t max = zjob_manager_workflows (manager);
    s_gather_t gather = {
        (zjob_metrics_workflow_t *) calloc (max ? max : 1, sizeof (zjob_metrics_workflow_t)), 0,
        max, zjob_hashx_new ()
    };
    int rc = 0;
    if (!gather.items || !gather.index)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else {
        zjob_manager_workflow_counts (manager, s_counted, &gather);
        zjob_queue_each_ready (zjob_manager_queue (manager), s_ready, &gather);
        char version [32];
        snprintf (version, sizeof version, "%d.%d.%d", ZJOB_VERSION_MAJOR, ZJOB_VERSION_MINOR,
                  ZJOB_VERSION_PATCH);
        zjob_metrics_figures_t figures = {
            .now_ms = zjob_clock_ms (),
            .workflows = gather.items,
            .workflow_count = gather.count,
            .scheduled = zjob_manager_scheduled (manager),
            .writable = zjob_metrics_writable (metrics),
            .events_published = publisher ? zjob_publisher_seq (publisher) : 0,
            .version = version,
            .start_time = (double) zjob_metrics_started (metrics) / 1000.0
        };
        s_workers (manager, registry, &figures);
        s_store (manager, &figures);
        zjob_metrics_process (&figures);
        if (zjob_metrics_render (metrics, &figures, text_p, size_p))
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    zhashx_destroy (&gather.index);
    free (gather.items);
    return rc;
}

int
zjob_metrics_cmd_handle (zjob_metrics_t *metrics, zjob_manager_t *manager,
                         zjob_registry_t *registry, zjob_publisher_t *publisher,
                         zjob_msg_builder_t *builder, uint64_t request_id, zjob_error_t *err)
{
    if (!metrics)
        return zjob_error_set (err, ZJOB_INTERNAL, "metrics: not kept by this broker");
    char *text = NULL;
    size_t size = 0;
    if (zjob_metrics_cmd_text (metrics, manager, registry, publisher, &text, &size, err))
        return -1;
    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
    zjob_msg_add_metrics (builder, ZJOB_METRICS_FORMAT, text, size);
    free (text);
    return 0;
}
