/*  =========================================================================
    zjob_broker_auth - the broker's CURVE: its certificate, ZAP, reloads

    With curve-secret and keys set, the broker loads its certificate
    (which must hold the secret key: it is the server's identity), reads
    the key lists (zjob_auth) and binds the ZAP endpoint before any of its
    three sockets is bound, so that no connection is ever accepted
    without being asked about. Each socket is a CURVE server with its
    ZAP domain (clients, workers, events: the roles it takes), and
    ZMQ_ZAP_ENFORCE_DOMAIN, so that if the ZAP handler were ever missing a
    handshake would fail rather than pass unchecked (libzmq's default
    then is to accept any key). The handler is served in the loop's pass,
    at most `batch` requests a pass, like any socket (zjob_broker.c's
    banner: the ZAP socket has its own "unsettled" flag).

    A RELOAD on the actor's pipe (zjobd sends one on SIGHUP) rereads the
    key lists: the new ones replace the old only if all of DIR is good.
    The broker looks each message's key up in the lists of the moment
    (zjob_broker.c, s_read_one), so a dropped key stops working at once,
    on the connections it already has too: its requests are answered
    401. libzmq cannot drop one connection of a socket, so a revoked
    key's connections stay open (and its event subscriptions stay, until
    it disconnects), but nothing it sends is applied.
    ========================================================================= */

#include "zjob_broker_impl.h"
#include "zjob_auth.h"
#include <string.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93  //  libzmq 4.3's draft API: libzmq takes it
#endif

int
zjob_broker_auth_start (s_broker_t *self)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    if (zjob_broker_config_check (config, err))
        return -1;
    if (!*config->curve_secret)
        return 0;
    if (!zsys_has_curve ())
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "this libzmq has no CURVE support");
    if (!zsys_file_exists (config->curve_secret)
        || !(self->cert = zcert_load (config->curve_secret)))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "curve-secret: cannot read the "
                                                      "certificate %s",
                               config->curve_secret);
    static const uint8_t none [32] = { 0 };
    if (memcmp (zcert_secret_key (self->cert), none, sizeof (none)) == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "curve-secret: %s has no secret key (give the NAME.key_secret "
                               "file that zjob keygen wrote, not NAME.key)",
                               config->curve_secret);
    self->auth = zjob_auth_new (config->keys, config->log_level, err);
    if (!self->auth || zjob_auth_bind (self->auth, err))
        return -1;
    //  The key of the broker's own HTTP side: made now, never written
    //  anywhere, an admin for as long as this broker runs
    self->internal_cert = zcert_new ();
    if (!self->internal_cert
        || zjob_auth_add_internal (self->auth, "http", zcert_public_txt (self->internal_cert),
                                   err))
        return self->internal_cert ? -1 : zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    s_log_info (self, "zjob_broker: CURVE on, public key %s; keys: %zu admin, %zu client, "
                      "%zu worker",
                zcert_public_txt (self->cert), zjob_auth_count (self->auth, ZJOB_ROLE_ADMIN),
                zjob_auth_count (self->auth, ZJOB_ROLE_CLIENT),
                zjob_auth_count (self->auth, ZJOB_ROLE_WORKER));
    return 0;
}

void
zjob_broker_auth_socket (s_broker_t *self, zsock_t *sock, const char *domain)
{
    if (!self->auth)
        return;
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, domain);
    int enforce = 1;
    if (zmq_setsockopt (zsock_resolve (sock), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof (enforce)))
        s_log_debug (self, "zjob_broker: no ZMQ_ZAP_ENFORCE_DOMAIN: %s",
                     zmq_strerror (zmq_errno ()));
}

void
zjob_broker_auth_serve (s_broker_t *self)
{
    if (!self->unsettled [S_POLL_ZAP])
        return;
    size_t count = self->auth ? zjob_auth_serve (self->auth, self->config.batch) : 0;
    self->unsettled [S_POLL_ZAP] = self->auth && count == self->config.batch;
}

void
zjob_broker_auth_reload (s_broker_t *self)
{
    if (!self->auth) {
        s_log_debug (self, "zjob_broker: RELOAD: no keys to reload (CURVE is off)");
        return;
    }
    zjob_error_t err;
    if (zjob_auth_reload (self->auth, &err))
        s_log_error (self, "zjob_auth: keys not reloaded, the old ones stay: %s", err.text);
    else
        s_log_info (self, "zjob_auth: keys reloaded: %zu admin, %zu client, %zu worker",
                    zjob_auth_count (self->auth, ZJOB_ROLE_ADMIN),
                    zjob_auth_count (self->auth, ZJOB_ROLE_CLIENT),
                    zjob_auth_count (self->auth, ZJOB_ROLE_WORKER));
}

void
zjob_broker_auth_destroy (s_broker_t *self)
{
    zjob_auth_destroy (&self->auth);
    zcert_destroy (&self->cert);
    zcert_destroy (&self->internal_cert);
}
