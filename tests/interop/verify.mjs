// Verify a signet bundle with an independent Sigstore verifier (sigstore-js:
// @sigstore/bundle + @sigstore/verify, versions pinned in package.json).
//
// usage: node verify.mjs [--any-hint] [--rsa-pss | --ecdsa-sha384] [--tsa CHAIN.pem]
//                         [--revocation-list] BUNDLE ARTIFACT PUBKEY.pem
//
// --revocation-list: BUNDLE is a signet revocation list; after the signature,
// its payloadType and payload (a list document) are checked instead of an
// in-toto subject (ARTIFACT is then not read for a digest).
//        node verify.mjs --ca CA.pem [--tsa CHAIN.pem] BUNDLE ARTIFACT
//
// The bundle is parsed and validated by @sigstore/bundle (bundleFromJSON) and
// its signature checked by @sigstore/verify's Verifier, offline, with the
// given public key as the only trust material: no transparency log, no CT
// log, no timestamp (all thresholds 0), no certificate authorities.
//
// The key finder answers publicKey.hint with the given key only when the hint
// is the Sigstore client convention for that key: the standard base64 of the
// SHA-256 of its DER SubjectPublicKeyInfo. --any-hint answers any hint with
// the given key, so that the signature check alone decides.
//
// --rsa-pss gives the verifier an RSA key as an RSASSA-PSS key object
// (SPKI algorithm id-RSASSA-PSS restricted to SHA-256, MGF1-SHA-256, salt 32):
// @sigstore/verify passes no algorithm or padding to crypto.verify, so Node
// checks a plain rsaEncryption key with PKCS#1 v1.5 and only a PSS-typed key
// with PSS. The modulus and exponent are the given key's; the hint is still
// computed over the given key's own SubjectPublicKeyInfo.
//
// --tsa CHAIN.pem trusts one RFC 3161 timestamp authority: CHAIN.pem holds
// its certificate chain, the TSA's signing certificate first, then its
// issuers up to the root. It becomes the trusted root's one
// timestampAuthorities entry, valid from the signing certificate's notBefore,
// and the Verifier then requires one verified timestamp (threshold 1): the
// token's signature, its chain at genTime, and its imprint over the
// signature bytes.
//
// --ca CA.pem verifies a bundle signed with an X.509 certificate
// (verificationMaterial.certificate, or x509CertificateChain) instead of a
// key: CA.pem holds the issuing CA's chain (the intermediates, then the
// root); it becomes the trusted root's one certificateAuthorities entry,
// valid while every certificate of CA.pem is (validFor start: the latest
// notBefore, end: the earliest notAfter). @sigstore/verify builds the path
// from the leaf through that chain only (a chain in the bundle is not used),
// and requires every certificate of the path to be valid at each verified
// timestamp: a certificate bundle needs --tsa (threshold 1), and an expired
// leaf verifies when its timestamp lies inside its validity. No CT log (SCT
// threshold 0) and no identity policy.
//
// --ecdsa-sha384 is for ECDSA P-384, which @sigstore/verify cannot check:
// Node's default digest for any EC key is SHA-256, while the Sigstore
// algorithm registry pairs P-384 with SHA-384. In this mode the Verifier is
// NOT used: the bundle is still parsed and validated by @sigstore/bundle, the
// hint checked as above, and the signature checked by @sigstore/core's
// public helpers (dsse.preAuthEncoding, crypto.verify with 'sha384').
//
// @sigstore/verify checks a DSSE signature over PAE(payloadType, payload) but
// does not bind a DSSE bundle to an artifact (its artifact argument is used
// for message signatures only). So, as an in-toto verifier must, this script
// then reads the payload bytes that were just verified as an in-toto
// Statement v1 and requires a subject whose sha256 (or sha512) digest is the artifact's.
//
// Exit status: 0 verified; 1 refused (the library's error is printed);
// 2 usage or unreadable input.

import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import core from '@sigstore/core';
import { VerificationError, Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

function usage(msg) {
  process.stderr.write(`verify.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node verify.mjs [--any-hint] [--rsa-pss | --ecdsa-sha384] [--tsa CHAIN.pem] BUNDLE ARTIFACT PUBKEY.pem\n' +
      '       node verify.mjs --ca CA.pem [--tsa CHAIN.pem] BUNDLE ARTIFACT\n',
  );
  process.exit(2);
}

function refuse(msg) {
  process.stderr.write(`verify.mjs: REFUSED: ${msg}\n`);
  process.exit(1);
}

function describe(err) {
  const parts = [err.name || 'Error'];
  if (err.code) parts.push(err.code);
  parts.push(err.message);
  if (Array.isArray(err.fields) && err.fields.length > 0) {
    parts.push(`fields: ${err.fields.join(', ')}`);
  }
  return parts.join(': ');
}

// AlgorithmIdentifier { id-RSASSA-PSS, RSASSA-PSS-params { [0] sha256,
// [1] mgf1(sha256), [2] saltLength 32 } } in DER (RFC 4055).
const RSA_PSS_SHA256_ALGID = Buffer.from(
  '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a' +
    '06092a864886f70d010108300d06096086480165030402010500a203020120',
  'hex',
);

// Read one DER TLV at off: returns { start, end } of the whole element.
function derElement(buf, off) {
  if (off + 2 > buf.length) throw new Error('truncated DER');
  let len = buf[off + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || off + 2 + n > buf.length) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    hdr += n;
  }
  if (off + hdr + len > buf.length) throw new Error('truncated DER');
  return { start: off, body: off + hdr, end: off + hdr + len };
}

function derLength(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

// The same public key (its subjectPublicKey BIT STRING) under the RSASSA-PSS
// algorithm identifier.
function asRsaPssSpki(der) {
  const outer = derElement(der, 0);
  const algId = derElement(der, outer.body);
  const bits = der.subarray(algId.end, outer.end);
  const body = Buffer.concat([RSA_PSS_SHA256_ALGID, bits]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

const args = process.argv.slice(2);
let anyHint = false;
let rsaPss = false;
let ecdsaSha384 = false;
let tsaChainPath = null;
let caChainPath = null;
let revocationList = false;
while (args.length > 0 && args[0].startsWith('--')) {
  const opt = args.shift();
  if (opt === '--any-hint') anyHint = true;
  else if (opt === '--rsa-pss') rsaPss = true;
  else if (opt === '--ecdsa-sha384') ecdsaSha384 = true;
  else if (opt === '--revocation-list') revocationList = true;
  else if (opt === '--tsa') {
    if (args.length === 0) usage('--tsa needs CHAIN.pem');
    tsaChainPath = args.shift();
  } else if (opt === '--ca') {
    if (args.length === 0) usage('--ca needs CA.pem');
    caChainPath = args.shift();
  }
  else usage(`unknown option ${opt}`);
}
if (rsaPss && ecdsaSha384) usage('--rsa-pss and --ecdsa-sha384 exclude each other');
if (tsaChainPath !== null && ecdsaSha384) usage('--tsa needs the Verifier, which --ecdsa-sha384 bypasses');
if (caChainPath !== null && (anyHint || rsaPss || ecdsaSha384)) {
  usage('--ca takes the key from the certificate: no --any-hint, --rsa-pss or --ecdsa-sha384');
}
if (caChainPath !== null ? args.length !== 2 : args.length !== 3) {
  usage(caChainPath !== null ? 'expected BUNDLE ARTIFACT' : 'expected BUNDLE ARTIFACT PUBKEY.pem');
}
const [bundlePath, artifactPath, keyPath] = args;

// PEM certificates of a file, in order.
function readChain(path) {
  let chain;
  try {
    const pem = readFileSync(path, 'utf8');
    chain = (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) || []).map(
      (c) => new X509Certificate(c),
    );
  } catch (err) {
    usage(`${path}: ${err.message}`);
  }
  if (chain.length === 0) usage(`${path}: no PEM certificate`);
  return chain;
}

let bundleText, artifact, keyPem;
try {
  bundleText = readFileSync(bundlePath, 'utf8');
  artifact = readFileSync(artifactPath);
  if (caChainPath === null) keyPem = readFileSync(keyPath, 'utf8');
} catch (err) {
  usage(err.message);
}

let key = null;
let keyHint = null;
let spki = null;
if (caChainPath === null) {
  try {
    key = createPublicKey(keyPem);
  } catch (err) {
    usage(`${keyPath}: ${err.message}`);
  }
  spki = key.export({ type: 'spki', format: 'der' });
  keyHint = createHash('sha256').update(spki).digest('base64');
}
if (rsaPss) {
  if (key.asymmetricKeyType !== 'rsa') usage(`--rsa-pss: ${keyPath} is not an RSA key`);
  key = createPublicKey({ key: asRsaPssSpki(spki), format: 'der', type: 'spki' });
}
if (ecdsaSha384 && key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
  usage(`--ecdsa-sha384: ${keyPath} is not an ECDSA P-384 key`);
}

// 1. Parse and validate the bundle (@sigstore/bundle).
let bundle;
try {
  bundle = bundleFromJSON(JSON.parse(bundleText));
} catch (err) {
  refuse(`bundle: ${describe(err)}`);
}
if (bundle.content?.$case !== 'dsseEnvelope') {
  refuse(`bundle: content is ${bundle.content?.$case}, expected dsseEnvelope`);
}
const vmCase = bundle.verificationMaterial.content?.$case;
if (caChainPath === null && vmCase !== 'publicKey') {
  refuse(`bundle: verification material is ${vmCase}, expected publicKey`);
}
if (caChainPath !== null && vmCase !== 'certificate' && vmCase !== 'x509CertificateChain') {
  refuse(`bundle: verification material is ${vmCase}, expected certificate or x509CertificateChain`);
}

// 2. Verify the signature with the given key as the only trust material.
const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};
if (caChainPath !== null) {
  const chain = readChain(caChainPath);
  const start = new Date(Math.max(...chain.map((c) => new Date(c.validFrom).getTime())));
  const end = new Date(Math.min(...chain.map((c) => new Date(c.validTo).getTime())));
  trustedRoot.certificateAuthorities.push({
    subject: { organization: 'signet interop', commonName: chain[0].subject },
    uri: 'http://127.0.0.1/',
    certChain: { certificates: chain.map((c) => ({ rawBytes: c.raw })) },
    validFor: { start, end },
  });
}
if (tsaChainPath !== null) {
  const chain = readChain(tsaChainPath);
  trustedRoot.timestampAuthorities.push({
    subject: { organization: 'signet interop', commonName: chain[0].subject },
    uri: 'http://127.0.0.1/',
    certChain: { certificates: chain.map((c) => ({ rawBytes: c.raw })) },
    validFor: { start: new Date(chain[0].validFrom) },
  });
}
const keyFinder = (hint) => {
  if (!anyHint && hint !== keyHint) {
    throw new VerificationError({
      code: 'PUBLIC_KEY_ERROR',
      message: `key not found: ${hint} (the given key's hint is ${keyHint})`,
    });
  }
  return { publicKey: key, validFor: () => true };
};
let signer;
try {
  if (ecdsaSha384) {
    const vm = bundle.verificationMaterial;
    if (vm.tlogEntries.length > 0 || (vm.timestampVerificationData?.rfc3161Timestamps ?? []).length > 0) {
      throw new Error('--ecdsa-sha384 checks key-only bundles; this one has tlog entries or timestamps');
    }
    const env = bundle.content.dsseEnvelope;
    const { publicKey } = keyFinder(bundle.verificationMaterial.content.publicKey.hint);
    const pae = core.dsse.preAuthEncoding(env.payloadType, env.payload);
    if (!core.crypto.verify(pae, publicKey, env.signatures[0].sig, 'sha384')) {
      throw new VerificationError({
        code: 'SIGNATURE_ERROR',
        message: 'signature verification failed (ECDSA P-384, SHA-384)',
      });
    }
    signer = { key: publicKey };
  } else {
    const trust = toTrustMaterial(trustedRoot, keyFinder);
    const verifier = new Verifier(trust, {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: tsaChainPath !== null ? 1 : 0,
    });
    const entity = toSignedEntity(bundle, artifact);
    signer = verifier.verify(entity);
  }
} catch (err) {
  refuse(`${ecdsaSha384 ? '@sigstore/core' : '@sigstore/verify'}: ${describe(err)}`);
}
if (!signer || (caChainPath === null ? signer.key !== key : !signer.key)) {
  refuse('@sigstore/verify returned no signer');
}

// 3. Bind the verified statement to the artifact (in-toto subject match).
const env = bundle.content.dsseEnvelope;
// --revocation-list: a signet revocation list (docs/revocation.md) is an ordinary DSSE bundle of its own
// payloadType; its signature was just checked, and its payload must be the list document.
if (revocationList) {
  const REVOCATION_PAYLOAD_TYPE = 'application/vnd.signet.revocation.v1+json';
  if (env.payloadType !== REVOCATION_PAYLOAD_TYPE) {
    refuse(`payloadType is ${JSON.stringify(env.payloadType)}, expected ${REVOCATION_PAYLOAD_TYPE}`);
  }
  let list;
  try {
    list = JSON.parse(Buffer.from(env.payload).toString('utf8'));
  } catch (err) {
    refuse(`payload is not JSON: ${err.message}`);
  }
  if (!Number.isInteger(list?.version) || !Array.isArray(list.keys) || !Array.isArray(list.artifacts)) {
    refuse('payload is not a revocation list (version, keys, artifacts)');
  }
  process.stdout.write(
    `verified by @sigstore/verify: revocation list version ${list.version}, ${list.keys.length} key(s), ` +
      `${list.artifacts.length} artifact(s), key ${keyHint} (${key.asymmetricKeyType})\n`,
  );
  process.exit(0);
}
if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
  refuse(`payloadType is ${JSON.stringify(env.payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
}
let statement;
try {
  statement = JSON.parse(Buffer.from(env.payload).toString('utf8'));
} catch (err) {
  refuse(`payload is not JSON: ${err.message}`);
}
if (statement === null || typeof statement !== 'object' || statement._type !== STATEMENT_V1) {
  refuse(`payload is not an in-toto Statement v1 (_type ${JSON.stringify(statement?._type)})`);
}
if (!Array.isArray(statement.subject) || statement.subject.length === 0) {
  refuse('statement has no subject');
}
const artifactDigest = createHash('sha256').update(artifact).digest('hex');
const artifactSha512 = createHash('sha512').update(artifact).digest('hex');
// A subject with a sha256, or (npm provenance) only a sha512: every one it lists must be the artifact's.
const match = statement.subject.find(
  (s) =>
    s &&
    (typeof s.digest?.sha256 === 'string' || typeof s.digest?.sha512 === 'string') &&
    (s.digest.sha256 === undefined || s.digest.sha256.toLowerCase() === artifactDigest) &&
    (s.digest.sha512 === undefined || s.digest.sha512.toLowerCase() === artifactSha512),
);
if (!match) {
  refuse(`no subject has the artifact's sha256 ${artifactDigest}`);
}

const by = ecdsaSha384 ? '@sigstore/core (SHA-384)' : '@sigstore/verify';
process.stdout.write(
  `verified by ${by}: ${artifactPath} as subject ${JSON.stringify(match.name)}, ` +
    `predicateType ${statement.predicateType}, ` +
    (caChainPath === null
      ? `key ${keyHint} (${key.asymmetricKeyType})\n`
      : `certificate key (${signer.key.asymmetricKeyType}) chaining to ${caChainPath}\n`),
);
