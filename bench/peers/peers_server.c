/*  =========================================================================
    peers_server - bench_peers: a peer's server, and TCP on loopback

    beanstalkd and redis-server are run as a user would run them, with
    fork and exec, each on a loopback port of its own. Neither tells which
    port it bound when given port 0, so the bench takes a port the kernel
    just handed out (bound to port 0, read, closed) and passes it on; the
    server is ready when that port accepts a connection, tried again every
    few ms until E2E_READY_MS have passed (a condition with a deadline).
    ========================================================================= */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "peers.h"

#define S_RETRY_MS 5  //  msecs between tries to connect to a starting server

int
peers_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0 };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = -1;
    if (bind (fd, (struct sockaddr *) &address, sizeof address) == 0
        && getsockname (fd, (struct sockaddr *) &address, &length) == 0)
        port = ntohs (address.sin_port);
    close (fd);
    return port;
}

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
peers_remove_tree (const char *path)
{
    nftw (path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
peers_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &address, sizeof address)) {
        close (fd);
        return -1;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

//  Whether the server exited (reaped then)
static bool
s_exited (peers_server_t *server)
{
    if (waitpid (server->pid, NULL, WNOHANG) != server->pid)
        return false;
    server->pid = 0;
    return true;
}

int
peers_server_start (peers_server_t *server, char *const *argv, const char *log, char *why,
                    size_t size)
{
    snprintf (server->log, sizeof server->log, "%s", log);
    if (access (argv [0], X_OK)) {
        snprintf (why, size, "no %.100s (make deps-bench installs it)", argv [0]);
        return -1;
    }
    pid_t pid = e2e_exec (argv [0], argv, log, why, size);
    if (pid < 0)
        return -1;
    server->pid = pid;
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    while (true) {
        int fd = peers_connect (server->port);
        if (fd >= 0) {
            close (fd);
            return 0;
        }
        if (s_exited (server) || e2e_now_ns () > deadline) {
            snprintf (why, size, "%.40s %s (its log: %.160s)", argv [0],
                      server->pid ? "not ready in time" : "exited", log);
            peers_server_stop (server);
            return -1;
        }
        struct timespec pause = { 0, S_RETRY_MS * 1000000L };
        nanosleep (&pause, NULL);
    }
}

void
peers_server_stop (peers_server_t *server)
{
    if (server->pid <= 0)
        return;
    kill (server->pid, SIGTERM);
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_STOP_MS * 1000000;
    while (!s_exited (server)) {
        if (e2e_now_ns () > deadline) {
            kill (server->pid, SIGKILL);
            waitpid (server->pid, NULL, 0);
            server->pid = 0;
            break;
        }
        struct timespec pause = { 0, S_RETRY_MS * 1000000L };
        nanosleep (&pause, NULL);
    }
}
