/* RSA private-key operations through OpenSSL's libcrypto, for GnuTLS.
 *
 * Why: a TLS handshake with an RSA-2048 certificate costs one RSA
 * signature, and GnuTLS makes it with Nettle on GMP's side-channel-silent
 * exponentiation (mpn_sec_powm, ~1.9 ms of CPU here), four times what
 * libcrypto's constant-time, blinded RSA takes (~0.47 ms). That signature
 * was most of an RSA handshake's cost (doc/performance.md). GnuTLS still
 * does the whole protocol; only the private-key operation is handed over,
 * through an external key (gnutls_privkey_import_ext4): GnuTLS hashes
 * and asks for the signature of the hash, with the algorithm (PKCS#1 v1.5
 * or PSS, and the digest) named. The key is parsed from the same PEM
 * bytes, by libcrypto only; concurrent signatures from several workers
 * are safe on one EVP_PKEY (each uses its own EVP_PKEY_CTX). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "net/tls_rsa.h"

/* The digest and padding of a signature algorithm GnuTLS may ask for;
 * NULL md with RSA_PKCS1_PADDING: the DigestInfo (TLS 1.0, 1.1) comes
 * ready. 0 when it is not an RSA algorithm we sign. */
static int rsa_algo(gnutls_sign_algorithm_t algo, const EVP_MD **md_r,
		    int *padding_r)
{
	*padding_r = RSA_PKCS1_PADDING;
	switch (algo) {
	case GNUTLS_SIGN_RSA_RAW:
		*md_r = NULL;
		return 1;
	case GNUTLS_SIGN_RSA_SHA1:
		*md_r = EVP_sha1();
		return 1;
	case GNUTLS_SIGN_RSA_SHA256:
		*md_r = EVP_sha256();
		return 1;
	case GNUTLS_SIGN_RSA_SHA384:
		*md_r = EVP_sha384();
		return 1;
	case GNUTLS_SIGN_RSA_SHA512:
		*md_r = EVP_sha512();
		return 1;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
		*md_r = EVP_sha256();
		*padding_r = RSA_PKCS1_PSS_PADDING;
		return 1;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
		*md_r = EVP_sha384();
		*padding_r = RSA_PKCS1_PSS_PADDING;
		return 1;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512:
		*md_r = EVP_sha512();
		*padding_r = RSA_PKCS1_PSS_PADDING;
		return 1;
	default:
		return 0;
	}
}

static int rsa_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			 void *userdata, unsigned flags,
			 const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
	EVP_PKEY *pkey = userdata;
	const EVP_MD *md;
	int padding;
	size_t len = 0;

	(void)key;
	if ((flags & GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA) != 0)
		algo = GNUTLS_SIGN_RSA_RAW;
	if (!rsa_algo(algo, &md, &padding))
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, padding) > 0 &&
		 (md == NULL || EVP_PKEY_CTX_set_signature_md(ctx, md) > 0) &&
		 (padding != RSA_PKCS1_PSS_PADDING ||
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
						   RSA_PSS_SALTLEN_DIGEST) > 0) &&
		 EVP_PKEY_sign(ctx, NULL, &len, hash->data, hash->size) > 0;
	signature->data = ok ? gnutls_malloc(len) : NULL;
	ok = ok && signature->data != NULL &&
	     EVP_PKEY_sign(ctx, signature->data, &len, hash->data,
			   hash->size) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		gnutls_free(signature->data);
		signature->data = NULL;
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	signature->size = (unsigned)len;
	return 0;
}

static int rsa_info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	EVP_PKEY *pkey = userdata;
	const EVP_MD *md;
	int padding;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_RSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return EVP_PKEY_get_bits(pkey);
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return rsa_algo(GNUTLS_FLAGS_TO_SIGN_ALGO(flags), &md,
				&padding);
	return 0; /* no preferred algorithm */
}

static void rsa_deinit(gnutls_privkey_t key, void *userdata)
{
	(void)key;
	EVP_PKEY_free(userdata);
}

int tls_rsa_privkey(const gnutls_datum_t *pem, gnutls_privkey_t *key_r)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->size);
	EVP_PKEY *pkey = bio != NULL
				 ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
				 : NULL;
	gnutls_privkey_t key = NULL;

	*key_r = NULL;
	BIO_free(bio);
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		/* Not RSA, or not a key libcrypto reads: GnuTLS's own way. */
		EVP_PKEY_free(pkey);
		return -ENOTSUP;
	}
	if (gnutls_privkey_init(&key) < 0) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	if (gnutls_privkey_import_ext4(key, pkey, NULL, rsa_sign_hash, NULL,
				       rsa_deinit, rsa_info, 0) < 0) {
		gnutls_privkey_deinit(key);
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	*key_r = key;
	return 0;
}
