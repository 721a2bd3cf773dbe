#!/bin/sh
# Remake the example PKI under keys-example/pki/ with the openssl CLI:
#   root.pem            example root CA (self-signed, ECDSA P-384, 10 years)
#   int.pem             intermediate CA issued by the root (5 years)
#   signer.pem/.key     code-signing leaf (ECDSA P-256, codeSigning EKU, digitalSignature)
#   signer-chain.pem    signer.pem followed by int.pem
#   signer.p12          signer key + certificate + intermediate (PKCS#12)
#   revoked.pem/.key    a code-signing leaf that int.crl revokes (keyCompromise)
#   noeku.pem/.key      a leaf without the codeSigning EKU (serverAuth only)
#   tsa.pem/.key        a time-stamping certificate (critical timeStamping EKU) for RFC 3161 tests
#   int.crl, root.crl   CRLs of the intermediate (revokes revoked.pem) and of the root (empty)
# Leaves are valid for 2 years and CRLs for 1 year from the time this runs:
# rerun it when they expire. Tests never use these files; they make their own PKI.
# EXAMPLE ONLY: private keys unencrypted, the PKCS#12 passphrase is public. Never use them.
# Usage: sh keys-example/make-pki.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v openssl >/dev/null || { echo "make-pki: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
out=$here/pki
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-pki.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
cd "$work"

cat >ext.cnf <<'CNF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[codesign]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:release@example.com
crlDistributionPoints = URI:http://pki.example.com/int.crl

[noeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

# The CA database `openssl ca` needs for CRLs.
mkdir db
: >db/index.txt
echo 1000 >db/crlnumber
cat >ca.cnf <<'CNF'
[ca]
default_ca = int
[int]
database = db/index.txt
crlnumber = db/crlnumber
default_md = sha256
default_crl_days = 365
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$2" -out "$1" 2>/dev/null; }
leaf() { # leaf NAME CN SECTION SERIAL
    key "$1.key" P-256
    openssl req -new -key "$1.key" -subj "/O=signet example/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA int.pem -CAkey int.key -set_serial "$4" -days 730 -sha256 \
        -extfile ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}

key root.key P-384
openssl req -new -x509 -key root.key -subj "/O=signet example/CN=signet example root" -days 3650 -sha384 \
    -extensions ca -config ext.cnf -out root.pem 2>/dev/null ||
    openssl req -new -x509 -key root.key -subj "/O=signet example/CN=signet example root" -days 3650 -sha384 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
key int.key P-384
openssl req -new -key int.key -subj "/O=signet example/CN=signet example intermediate" -out int.csr
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 -days 1825 -sha384 \
    -extfile ext.cnf -extensions ca -out int.pem 2>/dev/null

leaf signer "Release Signing example" codesign 4097
leaf revoked "Release Signing revoked" codesign 4098
leaf noeku "web.example.com" noeku 4099
leaf tsa "signet example TSA" tsa 4100
cat signer.pem int.pem >signer-chain.pem
openssl pkcs12 -export -inkey signer.key -in signer.pem -certfile int.pem -name signer \
    -passout pass:example-passphrase -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256 -out signer.p12

# int.crl revokes revoked.pem; root.crl (issued by the root) lists nothing.
openssl ca -config ca.cnf -name int -cert int.pem -keyfile int.key -revoke revoked.pem -crl_reason keyCompromise \
    2>/dev/null
openssl ca -config ca.cnf -name int -cert int.pem -keyfile int.key -gencrl -out int.crl 2>/dev/null
: >db/index.txt
openssl ca -config ca.cnf -name int -cert root.pem -keyfile root.key -gencrl -out root.crl 2>/dev/null

for f in root.pem int.pem signer.pem signer.key signer-chain.pem signer.p12 revoked.pem revoked.key noeku.pem \
    noeku.key tsa.pem tsa.key int.crl root.crl; do
    cp "$f" "$out/$f"
done
chmod 600 "$out"/*.key
echo "make-pki: wrote $(ls "$out" | wc -l) files to $out"
