/* Strength rules: length, the mailbox's own name, libpwquality's score and
 * cracklib dictionary check. Reasons in the account's language. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pw.h"

/* Case-insensitive: "Mario.Rossi2024" contains "mario.rossi". */
static int contains_ci(const char *hay, const char *needle, size_t n)
{
	if (n == 0)
		return 0;
	for (; *hay != '\0'; hay++) {
		size_t i = 0;
		while (i < n && hay[i] != '\0' &&
		       tolower((unsigned char)hay[i]) ==
			       tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

const char *pw_reused_text(const char *lang)
{
	return pw_lang_index(lang)
		       ? "la password è già stata usata di recente: sceglierne "
			 "una nuova"
		       : "the password was used recently: choose a new one";
}

int pw_strength_check(struct pw *p, const char *address,
		      const char *password, const char *lang, char *reason,
		      size_t len)
{
	int it = pw_lang_index(lang);
	const char *at = strrchr(address, '@');
	size_t local_len = at != NULL ? (size_t)(at - address) : strlen(address);
	const char *domain = at != NULL ? at + 1 : "";
	/* "example.test": the name part before the first dot counts too. */
	size_t domain_name_len = strcspn(domain, ".");
	char user[PW_ADDRESS_MAX];
	void *aux = NULL;

	if ((int64_t)strlen(password) < p->min_length) {
		snprintf(reason, len, it ? "la password deve avere almeno "
			 "%lld caratteri" : "the password must have at least "
			 "%lld characters", (long long)p->min_length);
		return -EPERM;
	}
	if (contains_ci(password, address, local_len)) {
		snprintf(reason, len, it ? "la password non deve contenere il "
			 "nome della casella (%.*s)" : "the password must not "
			 "contain the mailbox name (%.*s)", (int)local_len,
			 address);
		return -EPERM;
	}
	if (contains_ci(password, domain, strlen(domain)) ||
	    (domain_name_len >= 3 &&
	     contains_ci(password, domain, domain_name_len))) {
		snprintf(reason, len, it ? "la password non deve contenere il "
			 "dominio (%s)" : "the password must not contain the "
			 "domain (%s)", domain);
		return -EPERM;
	}
	snprintf(user, sizeof(user), "%.*s", (int)local_len, address);
	int score = pwquality_check(p->pwq, password, NULL, user, &aux);
	if (score == PWQ_ERROR_CRACKLIB_CHECK) {
		snprintf(reason, len, it ? "la password è basata su una parola "
			 "del dizionario" : "the password is based on a "
			 "dictionary word");
		return -EPERM;
	}
	if (score < 0) {
		char buf[256];
		const char *why = pwquality_strerror(buf, sizeof(buf), score,
						     aux);
		snprintf(reason, len, it ? "la password è troppo semplice (%s)"
			 : "the password is too simple (%s)", why);
		return -EPERM;
	}
	if (score < p->min_score) {
		snprintf(reason, len, it ? "la password è troppo debole "
			 "(punteggio %d su 100, minimo %lld): usare più "
			 "caratteri e più varietà" : "the password is too weak "
			 "(score %d of 100, at least %lld): use more and more "
			 "varied characters", score, (long long)p->min_score);
		return -EPERM;
	}
	return 0;
}
