/* libspf2's headers, with the system headers they need first. */
#ifndef SPF_LIB_H
#define SPF_LIB_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_resolv.h>
#include <spf2/spf_dns_zone.h>

#endif
