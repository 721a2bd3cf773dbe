// Sign an artifact with an independent Sigstore signer (sigstore-js:
// @sigstore/sign, version pinned in package.json), for a key that
// `signet keygen --no-passphrase` wrote, so that signet's verifier can be
// checked against bundles it did not write.
//
// usage: node sign.mjs ARTIFACT KEY.pem OUT.json [--keyid-empty] [--npm PURL]
//
// With --npm PURL (pkg:npm/NAME@VERSION) the subject is the npm provenance
// form: named by the package URL, with only a sha512 digest of the tarball
// (what npm publish --provenance attests).
//
// The statement is an in-toto Statement v1 whose only subject is the
// artifact (its file name and sha256), with a predicate signet does not
// write: SLSA provenance v1, with a small build definition. It is signed by
// @sigstore/sign's DSSEBundleBuilder (payloadType application/vnd.in-toto+json)
// with NO witnesses: no Rekor entry, no timestamp, nothing leaves the machine.
// The bundle is serialized by @sigstore/bundle's bundleToJSON, as a
// sigstore-js client would write it.
//
// The builder hands the DSSE pre-authentication encoding to a Signer; this
// script's Signer signs it with Node's crypto and the private key, choosing
// the algorithm from the key type as the Sigstore algorithm registry (and
// signet) pair them: Ed25519 over the PAE; ECDSA P-256 with SHA-256; ECDSA
// P-384 with SHA-384; RSA with RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
// (@sigstore/sign has no signing algorithm of its own for key-based
// signing: a Signer is always supplied by the caller.)
//
// The Signer reports the public key (SPKI PEM) and, as publicKey.hint and
// DSSE keyid, the Sigstore client convention for a key hint: the standard
// base64 of the SHA-256 of the DER SubjectPublicKeyInfo. With --keyid-empty
// the hint is empty, and bundleToJSON then omits both the keyid and the hint,
// so a verifier must find the key by trying the keys it trusts.
//
// Exit status: 0 written; 2 usage, unreadable input or signing failure.

import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, constants } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

function fail(msg) {
  process.stderr.write(`sign.mjs: ${msg}\n`);
  process.stderr.write('usage: node sign.mjs ARTIFACT KEY.pem OUT.json [--keyid-empty] [--npm PURL]\n');
  process.exit(2);
}

// --keyid-empty may come before or after the operands.
const args = [];
let keyidEmpty = false;
let npmPurl = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--keyid-empty') keyidEmpty = true;
  else if (arg === '--npm' && i + 1 < argv.length) npmPurl = argv[++i];
  else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
  else args.push(arg);
}
if (args.length !== 3) fail('expected ARTIFACT KEY.pem OUT.json');
const [artifactPath, keyPath, outPath] = args;

let artifact, privateKey;
try {
  artifact = readFileSync(artifactPath);
  privateKey = createPrivateKey(readFileSync(keyPath));
} catch (err) {
  fail(err.message);
}
const publicKey = createPublicKey(privateKey);
const spki = publicKey.export({ type: 'spki', format: 'der' });
const hint = keyidEmpty ? '' : createHash('sha256').update(spki).digest('base64');

// signBytes(data): the signature of data under the Sigstore registry's
// pairing for this key type.
function signBytes(data) {
  const type = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (type === 'ed25519') return cryptoSign(null, data, privateKey);
  if (type === 'ec' && curve === 'prime256v1') return cryptoSign('sha256', data, privateKey);
  if (type === 'ec' && curve === 'secp384r1') return cryptoSign('sha384', data, privateKey);
  if (type === 'rsa') {
    return cryptoSign('sha256', data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
  }
  throw new Error(`unsupported key type ${type}${curve ? ` (${curve})` : ''}`);
}

const signer = {
  sign: async (data) => ({
    signature: signBytes(data),
    key: {
      $case: 'publicKey',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
      hint,
    },
  }),
};

const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [
    npmPurl !== null
      ? { name: npmPurl, digest: { sha512: createHash('sha512').update(artifact).digest('hex') } }
      : {
          name: basename(artifactPath),
          digest: { sha256: createHash('sha256').update(artifact).digest('hex') },
        },
  ],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://signet.dev/interop/sigstore-js@v1',
      externalParameters: { artifact: basename(artifactPath) },
    },
    runDetails: {
      builder: { id: 'https://signet.dev/interop/sign.mjs' },
    },
  },
};

try {
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle = await builder.create({
    data: Buffer.from(JSON.stringify(statement)),
    type: IN_TOTO_PAYLOAD_TYPE,
  });
  writeFileSync(outPath, `${JSON.stringify(bundleToJSON(bundle))}\n`);
} catch (err) {
  fail(`signing ${artifactPath}: ${err.message}`);
}
