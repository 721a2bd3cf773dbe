/*
 * The torture run's PKCS#11 module (docs/torture.md): it forwards to SoftHSM2
 * and tells the harness, around every call, that the module is running, so
 * that the allocations SoftHSM2 makes (through the process's one OpenSSL) are
 * counted but never failed: the run is about signet's handling of failures,
 * not the module's. Only the functions libsign calls are wrapped.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST wrap;
static CK_FUNCTION_LIST *real;
static void (*enter)(int);

#define IN(call)                                                                                                     \
    do {                                                                                                             \
        CK_RV rv_;                                                                                                   \
        if (enter != NULL) {                                                                                         \
            enter(1);                                                                                                \
        }                                                                                                            \
        rv_ = (call);                                                                                                \
        if (enter != NULL) {                                                                                         \
            enter(-1);                                                                                               \
        }                                                                                                            \
        return rv_;                                                                                                  \
    } while (0)

static CK_RV w_initialize(void *a)
{
    IN(real->C_Initialize(a));
}
static CK_RV w_finalize(void *a)
{
    IN(real->C_Finalize(a));
}
static CK_RV w_get_info(CK_INFO *i)
{
    IN(real->C_GetInfo(i));
}
static CK_RV w_get_slot_list(CK_BBOOL p, CK_SLOT_ID *l, CK_ULONG *n)
{
    IN(real->C_GetSlotList(p, l, n));
}
static CK_RV w_get_slot_info(CK_SLOT_ID s, CK_SLOT_INFO *i)
{
    IN(real->C_GetSlotInfo(s, i));
}
static CK_RV w_get_token_info(CK_SLOT_ID s, CK_TOKEN_INFO *i)
{
    IN(real->C_GetTokenInfo(s, i));
}
static CK_RV w_open_session(CK_SLOT_ID s, CK_FLAGS f, void *a, CK_NOTIFY n, CK_SESSION_HANDLE *h)
{
    IN(real->C_OpenSession(s, f, a, n, h));
}
static CK_RV w_close_session(CK_SESSION_HANDLE h)
{
    IN(real->C_CloseSession(h));
}
static CK_RV w_login(CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR *p, CK_ULONG n)
{
    IN(real->C_Login(h, u, p, n));
}
static CK_RV w_logout(CK_SESSION_HANDLE h)
{
    IN(real->C_Logout(h));
}
static CK_RV w_find_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG n)
{
    IN(real->C_FindObjectsInit(h, t, n));
}
static CK_RV w_find(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *o, CK_ULONG m, CK_ULONG *n)
{
    IN(real->C_FindObjects(h, o, m, n));
}
static CK_RV w_find_final(CK_SESSION_HANDLE h)
{
    IN(real->C_FindObjectsFinal(h));
}
static CK_RV w_get_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n)
{
    IN(real->C_GetAttributeValue(h, o, t, n));
}
static CK_RV w_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
    IN(real->C_SignInit(h, m, k));
}
static CK_RV w_sign(CK_SESSION_HANDLE h, CK_BYTE *d, CK_ULONG n, CK_BYTE *s, CK_ULONG *sn)
{
    IN(real->C_Sign(h, d, n, s, sn));
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out)
{
    CK_C_GetFunctionList getfl;
    void *dl, *sym;
    CK_RV rv;

    if (real == NULL) {
        sym = dlsym(RTLD_DEFAULT, "tt_module_enter");
        memcpy(&enter, &sym, sizeof(enter));
        if ((dl = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL)) == NULL ||
            (sym = dlsym(dl, "C_GetFunctionList")) == NULL) {
            return CKR_GENERAL_ERROR;
        }
        memcpy(&getfl, &sym, sizeof(getfl));
        if (enter != NULL) {
            enter(1);
        }
        rv = getfl(&real);
        if (enter != NULL) {
            enter(-1);
        }
        if (rv != CKR_OK) {
            return rv;
        }
        wrap = *real;
        wrap.C_Initialize = w_initialize;
        wrap.C_Finalize = w_finalize;
        wrap.C_GetInfo = w_get_info;
        wrap.C_GetSlotList = w_get_slot_list;
        wrap.C_GetSlotInfo = w_get_slot_info;
        wrap.C_GetTokenInfo = w_get_token_info;
        wrap.C_OpenSession = w_open_session;
        wrap.C_CloseSession = w_close_session;
        wrap.C_Login = w_login;
        wrap.C_Logout = w_logout;
        wrap.C_FindObjectsInit = w_find_init;
        wrap.C_FindObjects = w_find;
        wrap.C_FindObjectsFinal = w_find_final;
        wrap.C_GetAttributeValue = w_get_attr;
        wrap.C_SignInit = w_sign_init;
        wrap.C_Sign = w_sign;
    }
    *out = &wrap;
    return CKR_OK;
}
