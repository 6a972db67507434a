/* Input checks for the write functions: the database keeps whatever it is
 * given, and the read side copies into fixed buffers (store.h), so the
 * limits here are the ones those buffers impose. */
#include <string.h>

#include "store/store_internal.h"

#define ADDRESS_MAX 319 /* struct store_account.address holds 320 */
#define DOMAIN_MAX 253
#define LANG_MAX 7
#define HASH_MAX 159

/* No controls, spaces or DEL: such bytes in a stored name could forge log
 * lines and protocol replies later. */
static int printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int store_valid_domain(const char *domain)
{
	size_t len;

	if (domain == NULL)
		return 0;
	len = strlen(domain);
	return len > 0 && len <= DOMAIN_MAX && strchr(domain, '@') == NULL &&
	       domain[0] != '.' && printable(domain);
}

const char *store_address_domain(const char *address)
{
	const char *at;

	if (address == NULL || strlen(address) > ADDRESS_MAX ||
	    !printable(address))
		return NULL;
	at = strrchr(address, '@');
	if (at == NULL || at == address || !store_valid_domain(at + 1))
		return NULL;
	return at + 1;
}

int store_valid_lang(const char *lang)
{
	size_t len = strlen(lang);

	if (len > LANG_MAX)
		return 0;
	return strspn(lang, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == len;
}

int store_valid_hash(const char *hash)
{
	size_t len;

	if (hash == NULL)
		return 0;
	len = strlen(hash);
	return len > 1 && len <= HASH_MAX && hash[0] == '$' && printable(hash);
}
