/* One SPF evaluation with libspf2 (spf_eval.h).
 *
 * libspf2's SPF_request_query_mailfrom gives every loopback client a
 * "pass" without looking at DNS; whether local clients are checked is the
 * operator's choice here ([spf] allow_networks), so this file runs the
 * same two public steps itself: fetch the record, interpret it.
 *
 * libspf2 reports some outcomes only as an error code with the result
 * left unset: a temporary DNS failure while fetching the record
 * (SPF_E_DNS_ERROR), a record that does not compile (SPF_E_NOT_SPF after
 * a syntax error) and a domain with no record (SPF_E_NOT_SPF alone).
 * result_of() maps those to temperror, permerror and none. */
#include <stdio.h>
#include <string.h>

#include "spf_eval.h"

static const char *const result_names[] = {
	[SPF_RES_NONE] = "none",         [SPF_RES_NEUTRAL] = "neutral",
	[SPF_RES_PASS] = "pass",         [SPF_RES_FAIL] = "fail",
	[SPF_RES_SOFTFAIL] = "softfail", [SPF_RES_TEMPERROR] = "temperror",
	[SPF_RES_PERMERROR] = "permerror",
};

const char *spf_result_name(enum spf_result result)
{
	if ((unsigned)result >= sizeof(result_names) / sizeof(result_names[0]))
		return "temperror";
	return result_names[result];
}

int spf_result_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(result_names) / sizeof(result_names[0]);
	     i++)
		if (strcmp(result_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* The first error libspf2 recorded other than "not SPF", or NULL. */
static const char *first_error(SPF_response_t *resp, int *code_r)
{
	for (int i = 0; i < SPF_response_messages(resp); i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (SPF_error_errorp(e) &&
		    SPF_error_code(e) != SPF_E_NOT_SPF) {
			*code_r = SPF_error_code(e);
			return SPF_error_message(e);
		}
	}
	return NULL;
}

static enum spf_result result_of(SPF_response_t *resp, SPF_errcode_t err,
				 const char **problem_r)
{
	int code = 0;
	const char *why = first_error(resp, &code);

	*problem_r = why;
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_NEUTRAL:
		return SPF_RES_NEUTRAL;
	case SPF_RESULT_PASS:
		return SPF_RES_PASS;
	case SPF_RESULT_FAIL:
		return SPF_RES_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPF_RES_SOFTFAIL;
	case SPF_RESULT_NONE:
		return SPF_RES_NONE;
	case SPF_RESULT_TEMPERROR:
		return SPF_RES_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return SPF_RES_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		break;
	}
	if (err == SPF_E_DNS_ERROR || code == SPF_E_DNS_ERROR)
		return SPF_RES_TEMPERROR;
	if (err == SPF_E_NO_MEMORY) {
		*problem_r = "out of memory";
		return SPF_RES_TEMPERROR;
	}
	if (why != NULL || (err != SPF_E_SUCCESS && err != SPF_E_NOT_SPF))
		return SPF_RES_PERMERROR;
	return SPF_RES_NONE;
}

static int set_ip(SPF_request_t *req, const char *ip)
{
	/* An IPv4 client on a dual-stack socket: check it as IPv4. */
	if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, ':') == NULL)
		ip += 7;
	if (strchr(ip, ':') != NULL)
		return SPF_request_set_ipv6_str(req, ip);
	return SPF_request_set_ipv4_str(req, ip);
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

void spf_eval(const struct spf_dns *dns, const struct spf_query *q,
	      struct spf_answer *a)
{
	const char *from = q->mail_from != NULL ? q->mail_from : "";
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	SPF_record_t *record = NULL;
	SPF_dns_server_t *layer;
	const char *problem = NULL;
	SPF_errcode_t err;

	memset(a, 0, sizeof(*a));
	a->result = SPF_RES_TEMPERROR;
	if (from[0] != '\0') {
		const char *at = strrchr(from, '@');

		copy(a->domain, sizeof(a->domain), at != NULL ? at + 1 : from);
	} else if (q->helo != NULL && q->helo[0] != '\0') {
		a->helo_identity = 1;
		copy(a->domain, sizeof(a->domain), q->helo);
	} else {
		a->result = SPF_RES_NONE;
		copy(a->problem, sizeof(a->problem), "no identity to check");
		return;
	}
	layer = spf_dns_layer(dns);
	if (layer == NULL || (server = SPF_server_new_dns(layer, 0)) == NULL) {
		if (layer != NULL)
			SPF_dns_free(layer);
		copy(a->problem, sizeof(a->problem), "out of memory");
		return;
	}
	if (q->receiver != NULL)
		SPF_server_set_rec_dom(server, q->receiver);
	req = SPF_request_new(server);
	if (req == NULL || set_ip(req, q->ip != NULL ? q->ip : "") !=
				   SPF_E_SUCCESS) {
		copy(a->problem, sizeof(a->problem),
		     req == NULL ? "out of memory" : "bad client address");
		goto out;
	}
	if (q->helo != NULL && q->helo[0] != '\0' &&
	    SPF_request_set_helo_dom(req, q->helo) != SPF_E_SUCCESS)
		goto nomem;
	/* "" with a HELO name set checks postmaster@HELO. */
	if (SPF_request_set_env_from(req, from) != SPF_E_SUCCESS)
		goto nomem;
	resp = SPF_response_new(req);
	if (resp == NULL || req->env_from_dp == NULL)
		goto nomem;
	req->use_helo = 0;
	req->cur_dom = req->env_from_dp;
	err = SPF_server_get_record(server, req, resp, &record);
	if (err == SPF_E_SUCCESS && record != NULL) {
		resp->spf_record_exp = record;
		err = SPF_record_interpret(record, req, resp, 0);
	}
	a->result = result_of(resp, err, &problem);
	if (problem == NULL)
		problem = SPF_strerror(SPF_response_errcode(resp) !=
					       SPF_E_SUCCESS
				       ? SPF_response_errcode(resp)
				       : err);
	if (a->result == SPF_RES_PERMERROR || a->result == SPF_RES_TEMPERROR)
		copy(a->problem, sizeof(a->problem),
		     problem != NULL ? problem : "");
	goto out;
nomem:
	copy(a->problem, sizeof(a->problem), "out of memory");
out:
	if (record != NULL)
		SPF_record_free(record);
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	SPF_server_free(server);
	/* SPF_server_new_dns leaves the layer to its creator. */
	SPF_dns_free(layer);
}
