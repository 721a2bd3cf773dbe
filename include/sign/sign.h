/* signet — libsign public API. Include this one header. */
#ifndef SIGN_SIGN_H
#define SIGN_SIGN_H

#include "artifact.h"
#include "audit.h"
#include "bundle.h"
#include "common.h"
#include "deploy.h"
#include "digest.h"
#include "encoding.h"
#include "envelope.h"
#include "event.h"
#include "key.h"
#include "log.h"
#include "manifest.h"
#include "pkcs11.h"
#include "source.h"
#include "policy.h"
#include "registry.h"
#include "revocation.h"
#include "signer.h"
#include "threads.h"
#include "timestamp.h"
#include "verify.h"
#include "x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Thread safety. libsign keeps no global mutable state: every object
 * (sign_key, sign_policy, sign_bundle, sign_verify_result, ...) may be used
 * from any thread, and different objects from several threads at once. One
 * object used by several threads at once is safe only for reading (const
 * functions: a loaded sign_policy or sign_key may be shared by concurrent
 * sign_verify() and sign_sign() calls); freeing or changing it while another
 * thread uses it is not. sign_error_last() is per thread. Callbacks
 * (passphrase, progress) may be called from libsign's own worker threads
 * during one call, and from several of them at once for progress. OpenSSL's
 * and libarchive's own initialisation is thread-safe in the versions
 * required.
 */

/* sign_version(), the version of the library linked, is in common.h. */

#ifdef __cplusplus
}
#endif
#endif
