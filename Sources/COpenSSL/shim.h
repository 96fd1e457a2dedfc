#ifndef MAILLAB_COPENSSL_SHIM_H
#define MAILLAB_COPENSSL_SHIM_H
// OpenSSL 3.0 for the Reactor's TLS transport. The calls below are macros in the OpenSSL
// headers and do not import into Swift (docs/platform notes): thin inline wrappers instead.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>

static inline int maillab_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long maillab_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long maillab_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline int maillab_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

/// SNI for a client session (`SSL_set_tlsext_host_name` is a macro).
static inline int maillab_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static const int maillab_TLS1_VERSION = TLS1_VERSION;
static const int maillab_TLS1_1_VERSION = TLS1_1_VERSION;
static const int maillab_TLS1_2_VERSION = TLS1_2_VERSION;
static const int maillab_TLS1_3_VERSION = TLS1_3_VERSION;
static const long maillab_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long maillab_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const long maillab_SSL_SESS_CACHE_OFF = SSL_SESS_CACHE_OFF;
static const uint64_t maillab_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t maillab_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t maillab_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;

/// Bytes waiting in a memory BIO (`BIO_pending` is a macro).
static inline size_t maillab_BIO_pending(BIO *bio) {
    return BIO_ctrl_pending(bio);
}

#endif
