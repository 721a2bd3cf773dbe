/* Test helpers for RFC 3161: TSA certificates made at test time, and the test TSA server. */
#ifndef SIGNET_TSAUTIL_H
#define SIGNET_TSAUTIL_H

#include <stdint.h>
#include <sys/types.h>

/* EKU of a generated TSA certificate. */
enum { TSA_EKU_CRITICAL = 0, TSA_EKU_NOT_CRITICAL = 1, TSA_EKU_NONE = 2 };

/* A self-signed root CA: dir/name.pem and dir/name.key (EC P-256). */
void tsa_gen_root(const char *dir, const char *name);
/*
 * A TSA certificate issued by dir/root.pem + .key, valid from not_before to
 * not_after (seconds since the epoch): dir/name.pem and dir/name.key.
 */
void tsa_gen_leaf(const char *dir, const char *name, const char *root, int64_t not_before, int64_t not_after,
                  int eku);

/* A TLS server certificate for 127.0.0.1 (iPAddress SAN, serverAuth) issued by dir/root: dir/name.pem, .key. */
void tsa_gen_tls_leaf(const char *dir, const char *name, const char *root);

/* The test TSA server, started on 127.0.0.1 with an ephemeral port. */
typedef struct tsa_server {
    pid_t pid;
    int in; /* its stdin: closing it stops the server */
    char url[64];
} tsa_server;

/*
 * Start build/signet-tsa-test-server (beside $SIGNET_BIN) with dir/cert.pem,
 * dir/cert.key; fault ("http500", "slow=3", ...) and at ("--time" value) may be NULL.
 */
void tsa_server_start(tsa_server *s, const char *dir, const char *cert, const char *fault, const char *at);
/* The same serving https with dir/tls.pem and dir/tls.key. */
void tsa_server_start_tls(tsa_server *s, const char *dir, const char *cert, const char *tls);
void tsa_server_stop(tsa_server *s);

/* A directory with a root "root", a TSA "tsa" valid now-1d..now+1d with a critical EKU. */
char *tsa_std_pki(void);

#endif
