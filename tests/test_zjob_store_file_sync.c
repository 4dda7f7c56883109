/*  =========================================================================
    test_zjob_store_file_sync - the file store's asynchronous sync

    zjob_store_sync_begin writes and hands the fdatasync to the store's
    thread; a ticket is durable once zjob_store_sync_poll says so, and the
    store's eventfd tells when to ask. What the broker counts on: tickets
    complete in order and only after an fdatasync that began after their
    bytes were written; a failed fdatasync on the thread makes the store
    broken (no ticket durable, every sync refused) until a rewrite from
    memory succeeds, which loses nothing; a process killed after the write
    but before the fdatasync completed reopens cleanly with every job
    synced before; a synchronous sync waits for the thread. Helpers in
    test_zjob_store_file.h.
    ========================================================================= */

#include "test_zjob_store_file.h"

#define S_WAIT 5000  //  msecs to wait for a completion

//  Put count new jobs, numbered from first, without a sync; their ids
//  go to ids [first...]
static void
s_put_some (zjob_store_t *store, int first, int count, char (*ids) [ZJOB_ID_LEN + 1])
{
    for (int index = first; index < first + count; index++) {
        zjob_job_t *job = s_job (index, ZJOB_QUEUED);
        s_put (store, job);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
    }
}

//  Wait (poll(2) on the store's eventfd, with a deadline) until ticket is
//  done or a sync fails. Returns sync_poll's answer; *done the ticket done
static int
s_wait_done (zjob_store_t *store, uint64_t ticket, uint64_t *done, zjob_error_t *err)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    struct pollfd fd = { .fd = zjob_store_sync_fd (store), .events = POLLIN };
    cr_assert_geq (fd.fd, 0, "no eventfd with fsync=always");
    while (true) {
        int rc = zjob_store_sync_poll (store, done, err);
        if (rc || *done >= ticket)
            return rc;
        cr_assert_lt (zclock_mono (), deadline, "ticket %" PRIu64 " never done", ticket);
        poll (&fd, 1, 100);
    }
}

Test (file_store_sync, tickets_complete_in_order_through_the_eventfd)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=always");
    char ids [40][ZJOB_ID_LEN + 1];
    uint64_t fsyncs = s_stat (store, "fsyncs");
    uint64_t tickets [4];
    for (int round = 0; round < 4; round++) {
        s_put_some (store, round * 10, 10, ids);
        zjob_error_t err;
        cr_assert_eq (zjob_store_sync_begin (store, &tickets [round], &err), 0, "%s", err.text);
        if (round)
            cr_assert_eq (tickets [round], tickets [round - 1] + 1);
    }
    cr_assert (zjob_store_sync_pending (store));
    uint64_t done = 0;
    zjob_error_t err;
    cr_assert_eq (s_wait_done (store, tickets [3], &done, &err), 0, "%s", err.text);
    cr_assert_eq (done, tickets [3]);
    cr_assert_not (zjob_store_sync_pending (store));
    cr_assert (zjob_store_writable (store, NULL, NULL));
    //  At least one fdatasync, and no more than one a ticket
    uint64_t more = s_stat (store, "fsyncs") - fsyncs;
    cr_assert (more >= 1 && more <= 4, "%" PRIu64 " fdatasyncs", more);
    //  A ticket with nothing written is done when the ones before it are
    uint64_t idle;
    cr_assert_eq (zjob_store_sync_begin (store, &idle, &err), 0);
    cr_assert_eq (s_wait_done (store, idle, &done, &err), 0);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 40);
    for (int index = 0; index < 40; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store_sync, a_ticket_is_not_done_while_its_fdatasync_is_held)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=always");
    char ids [10][ZJOB_ID_LEN + 1];
    s_put_some (store, 0, 10, ids);
    zjob_store_file_hold_fsyncs (true);
    uint64_t ticket, done = 0;
    zjob_error_t err;
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    //  The thread waits before its fdatasync: the ticket stays pending
    struct pollfd fd = { .fd = zjob_store_sync_fd (store), .events = POLLIN };
    cr_assert_eq (poll (&fd, 1, 200), 0, "completion signalled before the fdatasync");
    cr_assert_eq (zjob_store_sync_poll (store, &done, &err), 0);
    cr_assert_lt (done, ticket);
    cr_assert (zjob_store_sync_pending (store));
    zjob_store_file_hold_fsyncs (false);
    cr_assert_eq (s_wait_done (store, ticket, &done, &err), 0);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store_sync, a_failed_fdatasync_on_the_thread_breaks_the_store_until_a_rewrite)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=always");
    char ids [30][ZJOB_ID_LEN + 1];
    s_put_some (store, 0, 10, ids);
    uint64_t ticket, done = 0;
    zjob_error_t err;
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    cr_assert_eq (s_wait_done (store, ticket, &done, &err), 0);
    uint64_t good = done;

    //  The disk fails the next fdatasync: two tickets written (the thread
    //  held until both are asked), neither durable
    zjob_store_file_hold_fsyncs (true);
    s_put_some (store, 10, 10, ids);
    uint64_t first, second;
    cr_assert_eq (zjob_store_sync_begin (store, &first, &err), 0, "%s", err.text);
    s_put_some (store, 20, 5, ids);
    cr_assert_eq (zjob_store_sync_begin (store, &second, &err), 0, "%s", err.text);
    zjob_store_file_fail_fsyncs (true);
    zjob_store_file_hold_fsyncs (false);
    int rc = s_wait_done (store, second, &done, &err);
    cr_assert_eq (rc, -1, "a failed fdatasync reported as durable");
    cr_assert (strstr (err.text, "fdatasync failed") && strstr (err.text, strerror (EIO)),
               "%s", err.text);
    cr_assert_not (zjob_store_writable (store, NULL, NULL));
    cr_assert_not (zjob_store_sync_pending (store), "every ticket given is resolved");
    cr_assert_geq (done, first);
    cr_assert_eq (good + 1, first);

    //  Broken: the next sync rewrites the journal whole from memory (a
    //  second fdatasync of the old one could succeed on lost pages), and
    //  only that makes anything durable again
    zjob_store_file_fail_fsyncs (false);
    uint64_t rewrites = s_stat (store, "compactions");
    uint64_t rewritten = 0;
    cr_assert_eq (zjob_store_sync_begin (store, &rewritten, &err), 0, "%s", err.text);
    cr_assert_eq (s_stat (store, "compactions"), rewrites + 1, "durable again without a rewrite");
    cr_assert_gt (rewritten, second, "tickets go on after the failed ones");
    cr_assert_eq (zjob_store_sync_poll (store, &done, &err), 0);
    cr_assert_eq (done, rewritten, "the rewrite is durable when it returns");
    s_put_some (store, 25, 5, ids);
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    cr_assert_eq (s_wait_done (store, ticket, &done, &err), 0, "%s", err.text);
    cr_assert (zjob_store_writable (store, NULL, NULL));
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 30);
    for (int index = 0; index < 30; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store_sync, a_synchronous_sync_waits_for_the_thread)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=always");
    char ids [20][ZJOB_ID_LEN + 1];
    s_put_some (store, 0, 10, ids);
    uint64_t ticket;
    zjob_error_t err;
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    s_put_some (store, 10, 10, ids);
    s_sync (store);
    cr_assert_not (zjob_store_sync_pending (store));
    uint64_t done;
    cr_assert_eq (zjob_store_sync_poll (store, &done, &err), 0);
    cr_assert_eq (done, ticket);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store_sync, fsync_never_and_interval_tickets_are_done_at_once)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=never");
    char ids [10][ZJOB_ID_LEN + 1];
    s_put_some (store, 0, 5, ids);
    uint64_t ticket, done;
    zjob_error_t err;
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    cr_assert_eq (zjob_store_sync_fd (store), -1, "fsync=never has nothing to wait for");
    cr_assert_not (zjob_store_sync_pending (store));
    zjob_store_destroy (&store);
    store = s_open (dir, "fsync=interval:1ms");
    s_put_some (store, 5, 5, ids);
    usleep (2000);
    cr_assert_eq (zjob_store_sync_begin (store, &ticket, &err), 0);
    cr_assert_not (zjob_store_sync_pending (store), "interval: acknowledged before the fsync");
    cr_assert_eq (zjob_store_sync_poll (store, &done, &err), 0);
    cr_assert_eq (done, ticket);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 10);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  A crash after the write, before the fdatasync completed

Test (file_store_sync, a_crash_with_an_fdatasync_under_way_keeps_what_was_durable)
{
    char *dir = s_tmpdir ();
    int report [2];
    cr_assert_eq (pipe (report), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        //  The child: 10 jobs durable (reported), then 10 more written
        //  with their fdatasync held on the thread (reported), then waits
        close (report [0]);
        zjob_error_t err;
        zjob_store_t *store = s_try_open (dir, "fsync=always", &err);
        if (!store)
            _exit (2);
        char ids [20][ZJOB_ID_LEN + 1];
        for (int index = 0; index < 20; index++) {
            zjob_job_t *job = s_job (index, ZJOB_QUEUED);
            if (zjob_store_put (store, job, &err))
                _exit (3);
            strcpy (ids [index], job->id);
            zjob_job_destroy (&job);
            if (index == 9) {
                uint64_t ticket, done = 0;
                if (zjob_store_sync_begin (store, &ticket, &err))
                    _exit (4);
                while (done < ticket)
                    if (zjob_store_sync_poll (store, &done, &err))
                        _exit (5);
                if (write (report [1], ids, 10 * sizeof ids [0]) < 0)
                    _exit (6);
                zjob_store_file_hold_fsyncs (true);
            }
        }
        uint64_t ticket, done = 0;
        if (zjob_store_sync_begin (store, &ticket, &err) || zjob_store_sync_poll (store, &done, &err)
            || done >= ticket)
            _exit (7);  //  Durable while its fdatasync is held: wrong
        if (write (report [1], "w", 1) != 1)
            _exit (6);
        pause ();
        _exit (0);
    }
    close (report [1]);
    char durable [10][ZJOB_ID_LEN + 1];
    char written;
    cr_assert_eq (read (report [0], durable, sizeof durable), (ssize_t) sizeof durable,
                  "the child failed");
    cr_assert_eq (read (report [0], &written, 1), 1, "the child failed its held sync");
    cr_assert_eq (kill (pid, SIGKILL), 0);
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "status %d", status);
    close (report [0]);
    //  The journal opens; every job durable before the crash is there
    zjob_error_t err;
    zjob_store_t *store = s_try_open (dir, NULL, &err);
    cr_assert_not_null (store, "%s", err.text);
    cr_assert_geq (zjob_store_count (store), 10);
    for (int index = 0; index < 10; index++)
        cr_assert (s_has (store, durable [index]), "durable job %d lost", index);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}
