/*
 * A PKCS#11 module for the tests: it forwards every call to SoftHSM2 (or
 * the module in SIGNET_SHIM_TARGET) and breaks what SIGNET_SHIM_FAIL names:
 *   "C_Sign"   C_Sign returns CKR_DEVICE_ERROR
 *   "garbage"  C_Sign succeeds with a signature whose bytes are flipped
 *   "locked"   C_GetTokenInfo says the user PIN is locked (CKF_USER_PIN_LOCKED)
 *   "C_Login"  C_Login returns CKR_PIN_LOCKED
 * Built as build/pkcs11-shim.so (Makefile); never installed.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST *real;

static int failing(const char *what)
{
    const char *f = getenv("SIGNET_SHIM_FAIL");

    return f != NULL && strcmp(f, what) == 0;
}

static CK_RV shim_sign(CK_SESSION_HANDLE s, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig, CK_ULONG *siglen)
{
    CK_RV rv;

    if (failing("C_Sign")) {
        return CKR_DEVICE_ERROR;
    }
    rv = real->C_Sign(s, data, len, sig, siglen);
    if (rv == CKR_OK && sig != NULL && failing("garbage")) {
        for (CK_ULONG i = 0; i < *siglen; i++) {
            sig[i] ^= 0x5a;
        }
    }
    return rv;
}

static CK_RV shim_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV rv = real->C_GetTokenInfo(slot, info);

    if (rv == CKR_OK && failing("locked")) {
        info->flags |= CKF_USER_PIN_LOCKED;
    }
    return rv;
}

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
    if (failing("C_Login")) {
        return CKR_PIN_LOCKED;
    }
    return real->C_Login(s, user, pin, len);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out)
{
    const char *target = getenv("SIGNET_SHIM_TARGET");
    CK_C_GetFunctionList getfl;
    void *dl, *sym;
    CK_RV rv;

    if (real == NULL) {
        dl = dlopen(target != NULL ? target : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
        if (dl == NULL || (sym = dlsym(dl, "C_GetFunctionList")) == NULL) {
            return CKR_GENERAL_ERROR;
        }
        memcpy(&getfl, &sym, sizeof(getfl));
        if ((rv = getfl(&real)) != CKR_OK) {
            return rv;
        }
        shim = *real;
        shim.C_Sign = shim_sign;
        shim.C_GetTokenInfo = shim_token_info;
        shim.C_Login = shim_login;
    }
    *out = &shim;
    return CKR_OK;
}
