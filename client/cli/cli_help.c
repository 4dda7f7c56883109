/*  =========================================================================
    cli_help - the table of the zjob commands, and every help text

    One table (name, function, usage, summary, help) is the single source
    of `zjob help`, `zjob help COMMAND` and `zjob COMMAND --help`, so that
    the three never disagree. The texts state what the code does: the
    exit codes, the defaults, the JSON shapes of --json.
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include "cli_commands.h"

#define S_COMMON_HELP                                                                               \
    "\ncommon options (before or after the command):\n"                                             \
    "      --json                 print JSON for programs instead of text; a\n"                     \
    "                             failure about one job also prints\n"                              \
    "                             {\"id\", \"code\", \"error\"} on stdout\n"                        \
    "      --broker ENDPOINT      the broker (default $ZJOB_BROKER, else\n"                         \
    "                             " ZJOB_CLI_BROKER_DEFAULT "; HOST:PORT means tcp://HOST:PORT);\n" \
    "                             a comma list names the brokers of one shared\n"                   \
    "                             store: whichever is active answers\n"                             \
    "      --timeout DURATION     give up after DURATION in all (exit 7 if the job\n"               \
    "                             is not finished, 5 if the broker did not answer)\n"               \
    "      --request-timeout D    how long the broker has to answer each request\n"                 \
    "                             (default 3s)\n"                                                   \
    "      --cert FILE            for a broker with CURVE: this key's certificate,\n"               \
    "                             the NAME.key_secret of 'zjob keygen' (default\n"                  \
    "                             $ZJOB_CERT)\n"                                                    \
    "      --broker-key KEY|FILE  the broker's public key: 40 Z85 characters or its\n"              \
    "                             .key file (default $ZJOB_BROKER_KEY)\n"                           \
    "  -h, --help                 this text\n"

#define S_FILTER_HELP                                                                   \
    "  -s, --status S[,S...]      status is one of these (created, waiting, queued,\n"  \
    "                             running, paused, completed, failed, cancelled); or\n" \
    "                             scheduled (queued, waiting for its run time) or\n"    \
    "                             ready (queued and due), alone\n"                      \
    "  -w, --workflow W           of workflow W\n"                                      \
    "  -u, --user U               of user U\n"                                          \
    "  -t, --tag T                carrying tag T; repeat for more (all must match)\n"   \
    "      --created-after TIME   created after TIME\n"                                 \
    "      --created-before TIME  created before TIME\n"                                \
    "      --dead                 in the dead set: failed for good (a failure with\n"   \
    "                             attempts left is retried); the same as --status\n"    \
    "                             failed\n"                                             \
    "      --waiting-on ID        naming job ID among its parents (--depends-on)\n"     \
    "      --batch ID             of batch ID (also --batch-id)\n"

#define S_TIME_HELP                                                              \
    "TIME is ISO-8601 in UTC (2024-05-01T12:00:00Z, 2024-05-01) or a duration\n" \
    "before now (90s, 2h, 7d).\n"

#define S_EXIT_HELP                                                                 \
    "exit codes:\n"                                                                 \
    "  0    done; for wait, watch and result: the job completed\n"                  \
    "  1    usage: an unknown command or option, a missing argument\n"              \
    "  2    bad input: an invalid option value, invalid JSON, a bad --batch line\n" \
    "  3    not found: no job with that id\n"                                       \
    "  4    conflict: the job's status does not allow the operation, or it has\n"   \
    "       no results yet\n"                                                       \
    "  5    unavailable: no broker answered in time, or it refused the request\n"   \
    "       (shutting down, its store cannot write)\n"                              \
    "  6    the job finished without completing: failed or cancelled\n"             \
    "  7    timed out: the job was not finished within --timeout\n"                 \
    "  8    internal: the broker failed or answered nonsense\n"                     \
    "  9    busy: the broker is at a limit (jobs not yet run, requests pending);\n" \
    "       nothing was done: try again later\n"                                    \
    "  10   denied: the broker refused this key (401: not listed, or a wrong\n"     \
    "       --broker-key) or this operation to it (403)\n"                          \
    "  130  interrupted\n"                                                          \
    "A bulk operation that failed for some jobs exits with its first failure's code.\n"

#define S_STATUS_HELP                                                                 \
    "job statuses and what each operation does:\n"                                    \
    "  start   created, paused -> queued\n"                                           \
    "  pause   created, waiting, queued, running -> paused (a running job's worker\n" \
    "          stops it)\n"                                                           \
    "  resume  paused -> queued, or running if a worker still holds it\n"             \
    "  cancel  created, waiting, queued, running, paused -> cancelled\n"              \
    "  delete  any job (a running or paused one is cancelled first)\n"                \
    "  retry   failed, cancelled -> queued, ready at once (a re-run)\n"               \
    "  run-now a queued job waiting for its time (--delay, a retry's backoff)\n"      \
    "          -> ready at once\n"                                                    \
    "  waiting a job whose parents have not all completed: queued once they have\n"   \
    "  completed jobs are finished: nothing changes them.\n"

#define S_APPLY_HELP(verb)                                                                        \
    "With one ID, " verb " that job; with several, each of them; with a filter,\n"                \
    "every job that matches it and whose status allows it. A filter needs at\n"                   \
    "least one criterion: nothing applies to every job unless asked for.\n\n"                     \
    "filter:\n" S_FILTER_HELP                                                                     \
    "      --dry-run              show the jobs the filter matches, change nothing\n" S_TIME_HELP \
    "With --json: one ID gives {\"id\", \"operation\", \"status\"}; several or a filter\n"        \
    "{\"operation\", \"done\", \"failed\", \"errors\": [{\"id\", \"code\", \"message\"}]}.\n" S_COMMON_HELP

#define S_RERUN_HELP(what, options)                                                                  \
    what "\n\nWith one ID, that job; with several, each of them; with a filter, every\n"             \
         "job that matches it and whose status allows it (at least one criterion).\n\n"              \
         "filter:\n" S_FILTER_HELP options                                                           \
         "      --dry-run              ask the broker what would be done, change nothing;\n"         \
         "                             with several ids or a filter it lists the jobs\n" S_TIME_HELP \
         "With --json: one ID gives {\"id\", \"operation\", \"status\"}; several or a filter\n"      \
         "{\"operation\", \"done\", \"failed\", \"errors\": [{\"id\", \"code\", \"message\"}]},\n"   \
         "and with --dry-run \"dry_run\": true and (bulk) \"ids\". A job whose status does\n"        \
         "not allow it exits 4, dry run or not.\n" S_COMMON_HELP

#define S_RETRY_HELP                                                                          \
    S_RERUN_HELP ("Re-run failed or cancelled jobs: each is queued again, ready at once,\n"   \
                  "its attempt count kept (or reset), its error history kept; its last\n"     \
                  "error, outputs and progress are cleared. A job whose worker has not\n"     \
                  "let go of it yet (just cancelled) is refused (exit 4): try again.",        \
                  "      --reset-attempts       start the attempt count again at 0, so the\n" \
                  "                             job gets its max attempts anew\n")

#define S_RUN_NOW_HELP                                                                      \
    S_RERUN_HELP ("Make queued jobs that wait for their time (submitted with --delay or\n"  \
                  "--run-at, or waiting for a retry's backoff) ready now: they go to the\n" \
                  "next free worker. Any other job exits 4.",                               \
                  "")

#define S_SUBMIT_HELP                                                                     \
    "Create a job of WORKFLOW and queue it. Prints the job id, or with --json the\n"      \
    "job as a JSON object.\n\n"                                                           \
    "  -i, --input JSON           the inputs, a JSON object: inline, @FILE, or - for\n"   \
    "                             stdin (default {}; at most 1 MiB once encoded); or\n"   \
    "                             KEY=VALUE (VALUE as JSON if it is JSON, else a\n"       \
    "                             string); repeat to add keys\n"                          \
    "      --template NAME        start from template NAME ('zjob template'): its\n"      \
    "                             settings unless given here, its inputs and\n"           \
    "                             metadata under these, its tags and these; WORKFLOW\n"   \
    "                             may then be left out\n"                                 \
    "  -p, --priority P           low, medium (default), high or critical\n"              \
    "  -u, --user USER            who the job belongs to\n"                               \
    "  -t, --tag TAG              a tag; repeat for more (at most 32)\n"                  \
    "  -m, --metadata JSON        a JSON object kept with the job (inline, @FILE, -,\n"   \
    "                             or KEY=VALUE as --input)\n"                             \
    "  -k, --idempotency-key KEY  if a stored job has KEY, return it instead of\n"        \
    "                             creating another\n"                                     \
    "      --unique KEY           while a job with KEY is not finished (created,\n"       \
    "                             waiting, queued, running, paused), return it\n"         \
    "                             instead of creating another\n"                          \
    "      --max-attempts N       attempts at most; 0 for no limit (default: the\n"       \
    "                             broker's, 3 unless configured)\n"                       \
    "      --backoff KIND         wait between attempts: fixed or exponential\n"          \
    "      --backoff-base DUR     the first wait (0 for none)\n"                          \
    "      --backoff-factor X     exponential: each wait X times the last (1 to 100)\n"   \
    "      --backoff-max DUR      the longest wait\n"                                     \
    "      --jitter full|none     full: each wait drawn from 0 to its value\n"            \
    "      --no-retry KIND[,KIND] error kinds that fail the job at once\n"                \
    "      --job-timeout DUR      an attempt running longer fails (0 or none: never)\n"   \
    "      --heartbeat-timeout DUR  an attempt without progress this long fails\n"        \
    "                             (0 or none: never). Unset policy options take\n"        \
    "                             the workflow's defaults, else the broker's\n"           \
    "      --run-at TIME          not before TIME (ISO-8601 UTC: 2024-05-01T12:00:00Z)\n" \
    "      --delay DURATION       not before DURATION from now (30s, 5m, 2h)\n"           \
    "      --no-start             leave the job created; 'zjob start ID' queues it\n"     \
    "      --depends-on ID[,ID...]  parents (at most 64, repeatable): the job waits\n"    \
    "                             until every one has completed, then is queued\n"        \
    "                             and its command gets their outputs\n"                   \
    "      --on-parent-failure fail|cancel|run  when a parent fails for good, is\n"       \
    "                             cancelled or deleted: fail the job (default, kind\n"    \
    "                             dependency_failed), cancel it, or run it anyway\n"      \
    "      --batch FILE           one job per line of FILE (- for stdin), each a JSON\n"  \
    "                             object with the keys workflow_id, inputs, priority,\n"  \
    "                             user_id, tags, metadata, idempotency_key,\n"            \
    "                             max_attempts, run_at (ms or ISO-8601), backoff,\n"      \
    "                             backoff_base_ms, backoff_factor, backoff_max_ms,\n"     \
    "                             jitter, no_retry, timeout_ms, heartbeat_timeout_ms\n"   \
    "                             (0 = none, as on the wire); WORKFLOW and the other\n"   \
    "                             options are the defaults. Every line is checked\n"      \
    "                             before any job\n"                                       \
    "                             is sent (a bad one exits 2). Prints the ids, one a\n"   \
    "                             line, in order; with --json {\"count\", \"ids\"}.\n"    \
    "      --batch-id ID          the jobs join batch ID (made by its first submit;\n"    \
    "                             'zjob batch show ID' counts them)\n"                    \
    "      --batch-open           keep the batch open for later submits (else this\n"     \
    "                             submit closes it: no more members)\n"                   \
    "      --callback WF          with the submit that makes the batch: a job of WF\n"    \
    "                             is created once every member has finished\n"            \
    "      --callback-input K=V   the callback's inputs (V as JSON, else a string),\n"    \
    "                             or a JSON object; repeat for more. The callback\n"      \
    "                             also gets \"batch\": {id, state, total, completed,\n"   \
    "                             failed, cancelled}\n" S_COMMON_HELP

#define S_LIST_HELP                                                                    \
    "List the jobs that match every criterion given, newest first.\n\n" S_FILTER_HELP  \
    "      --schedule NAME        made by schedule NAME (any filter takes it)\n"       \
    "      --sort KEY             created (default), updated, priority or status\n"    \
    "      --asc, --desc          order (default --desc: newest, or highest, first)\n" \
    "  -n, --limit N              jobs per page, 1 to 10000 (default 100)\n"           \
    "      --offset N             jobs to skip first\n"                                \
    "      --all                  every page\n" S_TIME_HELP                            \
    "With --json: {\"total\", \"offset\", \"count\", \"jobs\": [job...]}.\n" S_COMMON_HELP

#define S_WAIT_HELP                                                                   \
    "Wait until the job is completed, failed or cancelled, then print how it\n"       \
    "ended (with --json: the job, with its status and outputs). Exits 0 if it\n"      \
    "completed, 6 if it failed or was cancelled, 7 if it is still not finished\n"     \
    "after --timeout (--json then prints the job as it is).\n\n"                      \
    "      --timeout DURATION     wait at most this long: seconds, or 500ms, 5m...\n" \
    "                             (default: as long as it takes). The same before\n"  \
    "                             the command: 'zjob --timeout 2 wait ID'.\n" S_COMMON_HELP

#define S_STATS_HELP                                                                 \
    "Show the jobs by status and workflow; the queue: queued jobs that are ready\n"  \
    "and those scheduled for later (--delay, --run-at), the jobs held by workers\n"  \
    "and the broker's --max-concurrent limit when it has one; the workers' slots;\n" \
    "the failures: jobs waiting for a retry and the dead set (failed for good);\n"   \
    "the rates of submitted, completed and failed jobs over the broker's rate\n"     \
    "window (the last 10 s with zjobd's defaults; the output names it); and the\n"   \
    "store's figures.\n\n"                                                           \
    "With --json: the STATS reply of PROTOCOL.md 9.9, its keys sorted, the\n"        \
    "store's figures as numbers, and \"scheduled\" computed if the broker has none.\n" S_COMMON_HELP

#define S_TEMPLATE_HELP                                                                 \
    "A template is a named set of job settings the broker keeps with its jobs:\n"       \
    "'zjob submit --template NAME' makes a job of it. What the submit gives wins;\n"    \
    "its inputs and metadata are merged over the template's (top-level keys), its\n"    \
    "tags added to the template's. 'set' replaces a template of that name whole.\n\n"   \
    "settings of set (as submit's):\n"                                                  \
    "  -w, --workflow W           the workflow (required)\n"                            \
    "  -i, --input ARG            default inputs: a JSON object (inline, @FILE or -)\n" \
    "                             or KEY=VALUE (VALUE as JSON if it is JSON, else a\n"  \
    "                             string); repeat to add keys\n"                        \
    "  -m, --metadata ARG         default metadata, as --input\n"                       \
    "  -p, --priority P           low, medium, high or critical\n"                      \
    "  -u, --user U               the user\n"                                           \
    "  -t, --tag T                a tag; repeat for more\n"                             \
    "      --max-attempts N       attempts at most (0: no limit)\n"                     \
    "      --backoff, --backoff-base, --backoff-factor, --backoff-max, --jitter,\n"     \
    "      --no-retry, --job-timeout, --heartbeat-timeout   as submit's\n\n"            \
    "list shows the names in order, 100 at a time unless --limit N (at most\n"          \
    "1000) and --offset N say otherwise. A name unknown to get or delete exits 3.\n"    \
    "With --json: set {\"name\", \"created\"}; get the template with submit's keys,\n"  \
    "its inputs and metadata as JSON, times as ISO-8601; list {\"templates\",\n"        \
    "\"total\"}; delete {\"name\", \"deleted\"}.\n" S_COMMON_HELP

static const zjob_cli_command_t s_commands [] = {
    { "submit", zjob_cli_cmd_submit,
      "WORKFLOW [--input JSON] [options]\n       zjob submit [WORKFLOW] --template NAME "
      "[--input KEY=VALUE...] [options]\n       zjob submit [WORKFLOW] --batch FILE [options]",
      "create a job, or many from JSON lines", S_SUBMIT_HELP },
    { "get", zjob_cli_cmd_get, "ID [--json]", "show a job",
      "Show everything about a job: status, progress, attempts and which one's\n"
      "result ended it, the retry policy and timeouts, times, inputs, outputs, the\n"
      "last error and every failed attempt's (number, time, worker, kind: message).\n"
      "Exits 3 if there is no such job. With --json: the job, times as ISO-8601,\n"
      "its policy under the submit keys (backoff, timeout_ms...), \"errors\" and\n"
      "\"result_attempt\".\n" S_COMMON_HELP },
    { "list", zjob_cli_cmd_list, "[filter] [--sort KEY] [--asc] [--limit N] [--offset N] [--all]",
      "list jobs, filtered, sorted and paged", S_LIST_HELP },
    { "delete", zjob_cli_cmd_delete, "ID... | filter [--dry-run]", "delete jobs",
      S_APPLY_HELP ("delete") },
    { "start", zjob_cli_cmd_start, "ID... | filter [--dry-run]", "queue created or paused jobs",
      S_APPLY_HELP ("start") },
    { "pause", zjob_cli_cmd_pause, "ID... | filter [--dry-run]", "pause jobs",
      S_APPLY_HELP ("pause") },
    { "resume", zjob_cli_cmd_resume, "ID... | filter [--dry-run]", "resume paused jobs",
      S_APPLY_HELP ("resume") },
    { "cancel", zjob_cli_cmd_cancel, "ID... | filter [--dry-run]", "cancel jobs",
      S_APPLY_HELP ("cancel") },
    { "retry", zjob_cli_cmd_retry, "ID... | filter [--reset-attempts] [--dry-run]",
      "re-run failed or cancelled jobs", S_RETRY_HELP },
    { "run-now", zjob_cli_cmd_run_now, "ID... | filter [--dry-run]",
      "run delayed or retrying jobs now", S_RUN_NOW_HELP },
    { "status", zjob_cli_cmd_status, "ID [--json]", "a job's status and progress",
      "Print a job's status, progress and progress message; for a queued job\n"
      "waiting for its time, \"queued, scheduled for TIME (in 4m)\".\n" S_COMMON_HELP },
    { "result", zjob_cli_cmd_result, "ID [--json]", "a finished job's outputs or error",
      "Print a completed job's outputs as JSON. A failed job's error goes to stderr\n"
      "and the exit code is 6; a job not finished yet exits 4.\n" S_COMMON_HELP },
    { "wait", zjob_cli_cmd_wait, "ID [--timeout DURATION] [--json]",
      "wait until a job is finished", S_WAIT_HELP },
    { "watch", zjob_cli_cmd_watch, "ID [--timeout DURATION] [--json]", "follow a job's progress",
      "Follow a job until it is finished: a progress bar as wide as the terminal\n"
      "on a terminal, else one line per event (with --json one JSON object per\n"
      "line). Exit codes as wait's.\n\n"
      "      --timeout DURATION     watch at most this long\n"
      "      --events ENDPOINT      the broker's events (default $ZJOB_EVENTS, else\n"
      "                             " ZJOB_CLI_EVENTS_DEFAULT "), or a comma list\n" S_COMMON_HELP },
    { "events", zjob_cli_cmd_events, "[--workflow W] [--type T] [--job ID] [--json]",
      "follow every event of the broker",
      "Print every event of the broker as it happens, one line each, until\n"
      "SIGINT or SIGTERM (exit 0); 'zjob watch' follows one job. A line is\n"
      "  TIME TYPE JOB_ID WORKFLOW (details)\n"
      "TIME ISO-8601 in local time with its offset, TYPE a status or progress,\n"
      "deleted, retrying, timed_out, worker_joined, worker_left, queue_paused...;\n"
      "'-' for what the event has not (a worker event has no job); details: the\n"
      "worker, attempt, progress %% and message, error kind and message. With\n"
      "--json, one object a line: {seq, type, time, time_ms, id, workflow_id,\n"
      "user_id, status, old_status, attempts, progress, worker_id, error_kind,\n"
      "message}, null where the event has none. Each line is flushed at once.\n"
      "Exits 5 when the broker stops answering (checked every 5s), 10 when it\n"
      "refuses this key, 0 at --timeout.\n\n"
      "  -w, --workflow W           only the events of workflow W's jobs\n"
      "      --type T               only events of type T\n"
      "      --job ID               only the events of job ID\n"
      "      --events ENDPOINT      the broker's events (default $ZJOB_EVENTS, else\n"
      "                             " ZJOB_CLI_EVENTS_DEFAULT "), or a comma list\n" S_COMMON_HELP },
    { "cleanup", zjob_cli_cmd_cleanup, "[--older-than DURATION]", "delete old finished jobs",
      "Delete the completed, failed and cancelled jobs that finished more than\n"
      "DURATION ago (default: the broker's retention, 7 days unless configured).\n\n"
      "      --older-than DURATION  1h, 7d, 0 for every finished job\n" S_COMMON_HELP },
    { "stats", zjob_cli_cmd_stats, "[--json]", "the broker's counts, workers and rates",
      S_STATS_HELP },
    { "workers", zjob_cli_cmd_workers, "[--json]", "the connected workers",
      "List the connected workers: their workflows, slots and jobs. With --json:\n"
      "{\"workers\": [...]}, connected_at and last_seen as ISO-8601 and their\n"
      "milliseconds as connected_at_ms and last_seen_ms.\n" S_COMMON_HELP },
    { "metrics", zjob_cli_cmd_metrics, "[--json]", "the broker's metrics (Prometheus text)",
      "Print the broker's metrics in the Prometheus text format 0.0.4, as its\n"
      "/metrics serves them: jobs per workflow and status, counters and wait and\n"
      "run time histograms per workflow, workers, store and loop figures. An\n"
      "admin request: a client key gets 403 (exit 10). With --json:\n"
      "{\"format\": \"prometheus-text-0.0.4\", \"text\": \"...\"}.\n" S_COMMON_HELP },
    { "batch", zjob_cli_cmd_batch, "show|watch|cancel|close ID | list [--limit N] [--offset N]",
      "a batch's counts, progress, cancel, close; the batches",
      "A batch is the jobs submitted with --batch-id ID (see submit).\n\n"
      "  show ID      its state (open, running, completed, failed) and counts: total,\n"
      "               completed, failed, cancelled, pending; its callback job\n"
      "  watch ID     a progress bar, refreshed until the batch has finished; exits\n"
      "               0 if every member completed, 6 if some failed or were\n"
      "               cancelled, 7 after --timeout\n"
      "  cancel ID    close it and cancel every member that is not finished\n"
      "  close ID     no more members: it finishes (and its callback runs) when\n"
      "               none is pending\n"
      "  list         the batches in id order: -n, --limit N (at most 1000),\n"
      "               --offset N\n"
      "A batch cancelled or with failed members ends failed.\n"
      "With --json: the batch as an object; list: {\"batches\", \"total\", \"offset\"}.\n" S_COMMON_HELP },
    { "template", zjob_cli_cmd_template,
      "set NAME --workflow W [settings]\n       zjob template get NAME\n"
      "       zjob template list [--limit N] [--offset N]\n       zjob template delete NAME",
      "named job settings: set, get, list, delete", S_TEMPLATE_HELP },
    { "schedule", zjob_cli_cmd_schedule, "add|list|get|pause|resume|delete|run-now [NAME] ...",
      "recurring jobs by cron",
      "  zjob schedule add NAME --cron EXPR [--timezone TZ] [--no-catch-up] [--paused]\n"
      "                    [--replace] (--template T | --workflow W [--input k=v ...]\n"
      "                    [--priority P] [--tag T ...] [--metadata JSON])\n"
      "  zjob schedule list\n"
      "  zjob schedule get|pause|resume|delete|run-now NAME\n\n"
      "A schedule makes a job at each due time of its cron expression: 5 fields\n"
      "(minute hour day-of-month month day-of-week) or 6 (seconds first), with *,\n"
      "lists, ranges, steps and names; @yearly @monthly @weekly @daily @hourly;\n"
      "@every 5m. Times are in --timezone (an IANA zone, default UTC). Each job\n"
      "carries schedule_id and scheduled_for (`zjob list --schedule NAME`). A due\n"
      "time missed while the broker was down runs once at start, or not with\n"
      "--no-catch-up. run-now makes one job now; the next due time stays.\n\n"
      "      --input k=v           an input (repeated; v is JSON or a string),\n"
      "                            or one JSON object (inline, @FILE or -)\n" S_COMMON_HELP },
    { "queue", zjob_cli_cmd_queue,
      "pause|resume WORKFLOW | limit WORKFLOW [--concurrency N] [--rate R] [--burst B] | list",
      "pause a workflow's queue, limit it, list the queues",
      "pause WORKFLOW: hand out none of its jobs (running ones go on) until resume;\n"
      "durable across restarts. limit WORKFLOW: at most N of its jobs running at\n"
      "once, at most R handed out a second (a token bucket of B tokens, default\n"
      "max(1, R)); 0 clears a limit, an option not given is left as it is. These\n"
      "apply on top of the broker's --max-concurrent. list: every workflow with\n"
      "jobs or settings, its queued and running jobs, and what holds it back.\n\n"
      "      --concurrency N        jobs of the workflow running at once (0: no limit)\n"
      "      --rate R               jobs handed out a second, e.g. 5 or 0.5 (0: none)\n"
      "      --burst B              tokens the rate's bucket holds (0: max(1, R))\n" S_COMMON_HELP },
    { "keygen", zjob_cli_cmd_keygen, "NAME [--dir DIR] [--user U] [--workflows A,B] [--force]",
      "a CURVE key pair for a broker with CURVE",
      "Make a CURVE key pair for a peer of a broker that uses CURVE (zjobd\n"
      "--curve-secret FILE --keys DIR): DIR/NAME.key, the public certificate, goes\n"
      "into the broker's keys directory under admin/, client/ or worker/ (the\n"
      "key's role; the broker reads it on start and on SIGHUP); DIR/NAME.key_secret,\n"
      "both keys (mode 0600), stays with the peer, which gives it with --cert.\n"
      "Prints the public key and where each file goes. Connects to no broker.\n\n"
      "  -d, --dir DIR              where to write the files (default: the current\n"
      "                             directory; made if missing)\n"
      "  -u, --user U               a client key's user: its jobs are U's (default:\n"
      "                             the file name without .key)\n"
      "  -w, --workflows A,B        a worker key may serve only these (* or absent:\n"
      "                             any)\n"
      "  -f, --force                replace an existing pair (else exit 4)\n"
      "With --json: {\"name\", \"public_key\", \"public_file\", \"secret_file\",\n"
      "\"user_id\", \"workflows\"}.\n" },
    { "help", zjob_cli_cmd_help, "[COMMAND]", "this text, or a command's",
      "Without COMMAND, the commands, options and exit codes; with it, that\n"
      "command's options.\n" },
};
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

const zjob_cli_command_t *
zjob_cli_commands (size_t *count_p)
{
    *count_p = S_COMMAND_COUNT;
    return s_commands;
}

const zjob_cli_command_t *
zjob_cli_command_find (const char *name)
{
    for (size_t index = 0; name && index < S_COMMAND_COUNT; index++)
        if (streq (s_commands [index].name, name))
            return &s_commands [index];
    return NULL;
}

void
zjob_cli_print_command_help (const char *name, FILE *out)
{
    const zjob_cli_command_t *command = zjob_cli_command_find (name);
    if (command)
        fprintf (out, "usage: zjob %s %s\n\n%s", command->name, command->usage, command->help);
    fflush (out);
}

void
zjob_cli_print_help (FILE *out)
{
    fprintf (out,
             "usage: zjob [--broker ENDPOINT] [--json] COMMAND [ARGS] [OPTIONS]\n\n"
             "The command line of the zjob broker: submit jobs, follow them, manage them.\n\n"
             "commands:\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        fprintf (out, "  %-9s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (out,
             "\n'zjob help COMMAND' or 'zjob COMMAND --help' shows a command's options.\n\n"
             "options, before or after the command:\n"
             "  --broker ENDPOINT        the broker's client endpoint (default\n"
             "                           $ZJOB_BROKER, else " ZJOB_CLI_BROKER_DEFAULT ")\n"
             "  --events ENDPOINT        its events endpoint, for watch\n"
             "                           (default $ZJOB_EVENTS, else " ZJOB_CLI_EVENTS_DEFAULT ")\n"
             "  --timeout DURATION       give up after DURATION in all: wait and watch\n"
             "                           exit 7, other commands 5 (default: none)\n"
             "  --request-timeout D      how long the broker has to answer each request\n"
             "                           (default 3s; --connect-timeout is the same)\n"
             "  --json                   print JSON for programs\n"
             "  --cert FILE              for a broker with CURVE: this key's certificate\n"
             "                           (NAME.key_secret; default $ZJOB_CERT)\n"
             "  --broker-key KEY|FILE    the broker's public key, Z85 or its .key file\n"
             "                           (default $ZJOB_BROKER_KEY)\n\n"
             "Durations are seconds (30, 1.5) or have a unit: 500ms, 30s, 5m, 2h, 7d.\n"
             "An endpoint without a transport (127.0.0.1:5570) is taken as tcp://. A\n"
             "comma list of endpoints (tcp://a:5570,tcp://b:5570, at most 16) names the\n"
             "brokers of one shared store, one active and the others standby: requests\n"
             "go to the active one, and follow it when another takes over.\n\n");
    fputs (S_EXIT_HELP, out);
    fputs ("\n", out);
    fputs (S_STATUS_HELP, out);
    fflush (out);
}

int
zjob_cli_cmd_help (zjob_cli_t *cli, int argc, char *argv [])
{
    if (argc > 2)
        return zjob_cli_usage (cli, "one command at a time");
    if (argc == 2 && !streq (argv [1], "--help") && !streq (argv [1], "-h")) {
        if (!zjob_cli_command_find (argv [1]))
            return zjob_cli_usage (cli, "no command '%s'", argv [1]);
        zjob_cli_print_command_help (argv [1], stdout);
    }
    else
        zjob_cli_print_help (stdout);
    return ZJOB_EXIT_OK;
}
