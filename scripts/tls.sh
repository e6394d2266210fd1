#!/usr/bin/env bash
# scripts/tls.sh COMMAND [--dir DIR] [ARGS]
#
# Key material for TLS between the members of a vmap cluster (Artery tls-tcp with mutual
# authentication; cluster-config/tls.conf). Uses only the JDK's keytool: no openssl.
#
#   init [NAME...]          A CA (unless DIR has one), the trust store holding its certificate, and
#                           a key store for each NAME (default: local-2551 local-2552 local-2553,
#                           the three members of cluster-config/three-local-tls.conf). Idempotent:
#                           what exists is kept, only what is missing is made.
#   member [--san LIST] NAME
#                           A key store for one more member (a new machine), signed by the current
#                           CA. Kept if it exists. NAME is the member's name in the config
#                           (vmap.tls.member: multi-machine-tls.conf uses the canonical hostname).
#                           The certificate names NAME as subject alternative name (ip:NAME for an
#                           IPv4 address, else dns:NAME) unless --san gives the list, e.g.
#                           --san dns:vmap-2.example.com,ip:10.0.0.2. With
#                           hostname-verification = on it must contain the member's
#                           canonical hostname.
#   new-ca                  Rotation step 1: a new CA becomes the current one; its certificate is
#                           ADDED to the trust store, which then trusts the old and the new CA.
#   renew [NAME...]         Rotation step 2: a new key and certificate from the current CA for each
#                           NAME, or, without names, for every member in DIR whose certificate is
#                           not signed by the current CA (so running it twice changes nothing).
#   retire-ca CA            Rotation step 3: removes CA (e.g. vmap-ca-1) from the trust store and
#                           moves its files to DIR/ca/retired. Refused for the current CA and while
#                           a member key store in DIR is still signed by CA.
#   show                    Lists the trust store's CAs and every member: subject, issuer, expiry.
#
# Rotation, every step followed by copying the changed files to the machines and restarting the
# members one at a time (each reads its stores only when it starts); README "Security" explains why
# the order matters.
#
# DIR (default $VMAP_TLS_DIR, else ./data/tls):
#   truststore.p12          certificates of the CAs members accept. Copy to every member.
#   members/NAME.p12        NAME's private key and certificate chain. Copy to that member only.
#   members/NAME.crt        NAME's certificate (PEM), to inspect.
#   ca/CURRENT              name of the CA that signs new member certificates (vmap-ca-1, -2, ...).
#   ca/CA.p12, ca/CA.crt    the CA's private key and its certificate. Never copy to a member: whoever
#                           holds it can make certificates that join the cluster.
#
# Environment:
#   VMAP_TLS_KEY_STORE_PASSWORD    members' key stores (default changeit). PKCS12 key stores made by
#                                  keytool have one password: it is also the key's password.
#   VMAP_TLS_TRUST_STORE_PASSWORD  the trust store (default changeit)
#   VMAP_TLS_CA_PASSWORD           the CA key stores (default changeit)
#   VMAP_TLS_VALIDITY_DAYS         member certificates (default 825)
#   VMAP_TLS_CA_VALIDITY_DAYS      CA certificates (default 3650)
#   VMAP_TLS_KEY_SIZE              RSA key size in bits (default 3072)
# The defaults are for trying TLS on one machine; set real passwords for anything else (the
# members read the same variables, cluster-config/tls.conf).
#
# Progress goes to stderr; stdout lists what was made ("created ...") or kept ("kept ...").
set -euo pipefail
umask 077 # private keys: readable by their owner only

log() { echo "tls.sh: $*" >&2; }
die() { echo "tls.sh: error: $*" >&2; exit 1; }
# The header above, as help: on stdout with exit 0 when asked for, on stderr with exit 2 otherwise.
usage() {
  local text
  text="$(sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//')"
  if [ "${1:-}" = help ]; then echo "$text"; exit 0; fi
  echo "$text" >&2
  exit 2
}

command -v keytool >/dev/null 2>&1 || die "keytool not found: install a JDK (17+) or put its bin/ on PATH"

# keytool reads every password from these variables (-storepass:env), never from the command line,
# so no password shows up in ps.
export VMAP_TLS_KEY_STORE_PASSWORD="${VMAP_TLS_KEY_STORE_PASSWORD:-changeit}"
export VMAP_TLS_TRUST_STORE_PASSWORD="${VMAP_TLS_TRUST_STORE_PASSWORD:-changeit}"
export VMAP_TLS_CA_PASSWORD="${VMAP_TLS_CA_PASSWORD:-changeit}"
VALIDITY="${VMAP_TLS_VALIDITY_DAYS:-825}"
CA_VALIDITY="${VMAP_TLS_CA_VALIDITY_DAYS:-3650}"
KEY_SIZE="${VMAP_TLS_KEY_SIZE:-3072}"
for v in VALIDITY CA_VALIDITY KEY_SIZE; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v '${!v}' is not a positive whole number"
done
for v in VMAP_TLS_KEY_STORE_PASSWORD VMAP_TLS_TRUST_STORE_PASSWORD VMAP_TLS_CA_PASSWORD; do
  value="${!v}"
  # keytool refuses shorter store passwords.
  [ "${#value}" -ge 6 ] || die "$v must have at least 6 characters"
done
unset value

DEFAULT_MEMBERS=(local-2551 local-2552 local-2553)
MEMBER_ALIAS=member

# ------------------------------------------------------------------ arguments

[ $# -ge 1 ] || usage
COMMAND="$1"
case "$COMMAND" in -h|--help|help) usage help ;; esac
shift
DIR="${VMAP_TLS_DIR:-./data/tls}"
SAN=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a directory"; DIR="$2"; shift 2 ;;
    --dir=*) DIR="${1#--dir=}"; shift ;;
    --san) [ $# -ge 2 ] || die "--san needs a list, e.g. dns:host.example.com,ip:10.0.0.2"; SAN="$2"; shift 2 ;;
    --san=*) SAN="${1#--san=}"; shift ;;
    -h|--help) usage help ;;
    -*) die "unknown option '$1' (see scripts/tls.sh --help)" ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ -n "$DIR" ] || die "--dir is empty"

TRUST="$DIR/truststore.p12"
CA_DIR="$DIR/ca"
MEMBERS="$DIR/members"

check_name() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] \
    || die "member name '$1' must be letters, digits, '.', '_' or '-' (it names a file and a certificate)"
}

check_san() {
  local entry
  IFS=',' read -ra entries <<<"$1"
  for entry in "${entries[@]}"; do
    [[ "$entry" =~ ^(dns|ip):[A-Za-z0-9.:*_-]+$ ]] \
      || die "--san entry '$entry' is not dns:NAME or ip:ADDRESS"
  done
}

# JVM options for keytool, a short run: C1 alone starts faster (half the time of a whole init on a
# busy machine), except in key generation, whose prime search wants C2 (see kt).
QUICK=(-J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC)

# keytool with its chatter (warnings, "Certificate stored") on stderr only when it fails.
kt() {
  local out jvm=("${QUICK[@]}")
  [ "$1" != -genkeypair ] || jvm=(-J-XX:+UseSerialGC)
  if ! out="$(keytool "${jvm[@]}" "$@" 2>&1)"; then
    echo "$out" >&2
    die "keytool ${1} failed (above)"
  fi
}

# ------------------------------------------------------------------ the CA

current_ca() { [ -f "$CA_DIR/CURRENT" ] && cat "$CA_DIR/CURRENT" || true; }

# Makes a CA named vmap-ca-N (N one more than any CA made in DIR, retired ones included).
make_ca() {
  mkdir -p "$CA_DIR"
  local n=1 f
  for f in "$CA_DIR"/vmap-ca-*.p12 "$CA_DIR"/retired/vmap-ca-*.p12; do
    [ -e "$f" ] || continue
    f="${f##*/vmap-ca-}"
    f="${f%.p12}"
    [[ "$f" =~ ^[0-9]+$ ]] && [ "$f" -ge "$n" ] && n=$((f + 1))
  done
  local name="vmap-ca-$n"
  local made
  made="$(date -u +%Y-%m-%dT%H:%MZ)"
  log "making CA $name ($KEY_SIZE-bit RSA, $CA_VALIDITY days)"
  # pathlen:0: it signs member certificates only, never another CA.
  kt -genkeypair -alias ca -keyalg RSA -keysize "$KEY_SIZE" -sigalg SHA256withRSA \
    -dname "CN=$name $made, O=vmap cluster" -validity "$CA_VALIDITY" \
    -ext bc:c=ca:true,pathlen:0 -ext ku:c=keyCertSign,cRLSign \
    -keystore "$CA_DIR/$name.p12" -storetype PKCS12 -storepass:env VMAP_TLS_CA_PASSWORD
  kt -exportcert -rfc -alias ca -keystore "$CA_DIR/$name.p12" -storepass:env VMAP_TLS_CA_PASSWORD \
    -file "$CA_DIR/$name.crt"
  printf '%s\n' "$name" >"$CA_DIR/CURRENT.tmp"
  mv "$CA_DIR/CURRENT.tmp" "$CA_DIR/CURRENT"
  echo "created $CA_DIR/$name.p12 (CA private key: keep it off the members)"
  echo "created $CA_DIR/$name.crt (CA certificate)"
}

# Adds CA's certificate to the trust store (creating it) unless it is there already.
trust_ca() {
  local name="$1"
  if [ -f "$TRUST" ] && keytool "${QUICK[@]}" -list -keystore "$TRUST" -storepass:env VMAP_TLS_TRUST_STORE_PASSWORD \
      -alias "$name" >/dev/null 2>&1; then
    echo "kept $TRUST (trusts $name)"
    return
  fi
  local existed=no
  [ -f "$TRUST" ] && existed=yes
  kt -importcert -noprompt -alias "$name" -file "$CA_DIR/$name.crt" \
    -keystore "$TRUST" -storetype PKCS12 -storepass:env VMAP_TLS_TRUST_STORE_PASSWORD
  chmod 644 "$TRUST" # certificates only: nothing secret
  if [ "$existed" = yes ]; then
    echo "updated $TRUST (now also trusts $name)"
  else
    echo "created $TRUST (trusts $name)"
  fi
}

# ------------------------------------------------------------------ members

# Sets ISSUER to the CA (vmap-ca-N) that signed member NAME's certificate, "?" for a CA not made
# here. A global, not output: die inside $(...) would end only the subshell.
read_issuer() {
  local listing line
  if ! listing="$(keytool "${QUICK[@]}" -list -v -keystore "$MEMBERS/$1.p12" -storepass:env VMAP_TLS_KEY_STORE_PASSWORD \
      -alias "$MEMBER_ALIAS" 2>&1)"; then
    die "cannot read $MEMBERS/$1.p12 (wrong VMAP_TLS_KEY_STORE_PASSWORD?): $(echo "$listing" | head -1)"
  fi
  line="$(echo "$listing" | grep -m1 '^Issuer:' || true)"
  ISSUER="?"
  if [[ "$line" =~ CN=(vmap-ca-[0-9]+) ]]; then ISSUER="${BASH_REMATCH[1]}"; fi
}

default_san() {
  if [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "ip:$1"; else echo "dns:$1"; fi
}

# Makes (or, with replace=yes, replaces) member NAME's key store: a new key pair, signed by the
# current CA. Written next to the old one and moved over it, so a member never reads half a file.
issue_member() {
  local name="$1" replace="$2" san="$3"
  local ca
  ca="$(current_ca)"
  [ -n "$ca" ] || die "no CA in $CA_DIR: run 'scripts/tls.sh init --dir $DIR' first"
  [ -n "$san" ] || san="$(default_san "$name")"
  check_san "$san"
  local ks="$MEMBERS/$name.p12"
  if [ -f "$ks" ] && [ "$replace" != yes ]; then
    read_issuer "$name"
    echo "kept $ks (signed by $ISSUER)"
    return
  fi
  mkdir -p "$MEMBERS"
  local tmp
  tmp="$(mktemp -d "$MEMBERS/.new-$name.XXXXXX")"
  log "making key store for $name ($KEY_SIZE-bit RSA, $VALIDITY days, signed by $ca, SAN $san)"
  kt -genkeypair -alias "$MEMBER_ALIAS" -keyalg RSA -keysize "$KEY_SIZE" -sigalg SHA256withRSA \
    -dname "CN=$name, O=vmap cluster" -validity "$VALIDITY" \
    -keystore "$tmp/key.p12" -storetype PKCS12 -storepass:env VMAP_TLS_KEY_STORE_PASSWORD
  kt -certreq -alias "$MEMBER_ALIAS" -keystore "$tmp/key.p12" -storepass:env VMAP_TLS_KEY_STORE_PASSWORD \
    -file "$tmp/req.csr"
  # serverAuth and clientAuth: with mutual authentication every member is both.
  kt -gencert -alias ca -keystore "$CA_DIR/$ca.p12" -storepass:env VMAP_TLS_CA_PASSWORD \
    -infile "$tmp/req.csr" -outfile "$tmp/cert.crt" -rfc -validity "$VALIDITY" -sigalg SHA256withRSA \
    -ext bc:c=ca:false -ext ku:c=digitalSignature,keyEncipherment -ext eku:c=serverAuth,clientAuth \
    -ext "san=$san"
  # The reply is the whole chain, so the member sends its CA's certificate along with its own.
  cat "$tmp/cert.crt" "$CA_DIR/$ca.crt" >"$tmp/chain.pem"
  kt -importcert -noprompt -alias "$MEMBER_ALIAS" -file "$tmp/chain.pem" \
    -keystore "$tmp/key.p12" -storepass:env VMAP_TLS_KEY_STORE_PASSWORD
  local verb=created
  [ -f "$ks" ] && verb=replaced
  mv "$tmp/cert.crt" "$MEMBERS/$name.crt"
  chmod 644 "$MEMBERS/$name.crt"
  mv "$tmp/key.p12" "$ks"
  rm -rf "$tmp"
  echo "$verb $ks (key and certificate of $name, signed by $ca, SAN $san)"
}

member_names() {
  local f
  for f in "$MEMBERS"/*.p12; do
    [ -e "$f" ] || continue
    f="${f##*/}"
    echo "${f%.p12}"
  done
}

# ------------------------------------------------------------------ commands

cmd_init() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${DEFAULT_MEMBERS[@]}")
  for n in "${names[@]}"; do check_name "$n"; done
  [ -z "$SAN" ] || [ ${#names[@]} -eq 1 ] || die "--san applies to one member: use 'member --san LIST NAME' for each"
  mkdir -p "$DIR"
  local ca
  ca="$(current_ca)"
  if [ -n "$ca" ]; then
    [ -f "$CA_DIR/$ca.p12" ] || die "$CA_DIR/CURRENT names $ca but $CA_DIR/$ca.p12 is missing"
    echo "kept $CA_DIR/$ca.p12 (current CA)"
  else
    make_ca
    ca="$(current_ca)"
  fi
  trust_ca "$ca"
  for n in "${names[@]}"; do issue_member "$n" no "$SAN"; done
}

cmd_member() {
  [ $# -eq 1 ] || die "member takes one NAME (got $#)"
  check_name "$1"
  [ -n "$(current_ca)" ] || die "no CA in $CA_DIR: run 'scripts/tls.sh init --dir $DIR' first"
  issue_member "$1" no "$SAN"
}

cmd_new_ca() {
  [ $# -eq 0 ] || die "new-ca takes no arguments"
  [ -f "$TRUST" ] || die "no trust store $TRUST: run 'scripts/tls.sh init --dir $DIR' first"
  local old
  old="$(current_ca)"
  make_ca
  trust_ca "$(current_ca)"
  log "next: copy $TRUST to every member and restart them one at a time; then 'renew'"
  [ -z "$old" ] || log "members stay on $old until renewed"
}

cmd_renew() {
  [ -z "$SAN" ] || [ $# -eq 1 ] || die "--san applies to one member"
  local ca names=("$@")
  ca="$(current_ca)"
  [ -n "$ca" ] || die "no CA in $CA_DIR: run 'scripts/tls.sh init --dir $DIR' first"
  if [ ${#names[@]} -gt 0 ]; then
    for n in "${names[@]}"; do
      check_name "$n"
      [ -f "$MEMBERS/$n.p12" ] || die "no key store for member '$n' in $MEMBERS (use 'member $n')"
      read_issuer "$n" # the password must open the old one: the new one gets the same password
      issue_member "$n" yes "${SAN:-$(san_of "$n")}"
    done
    return
  fi
  local any=no
  while read -r n; do
    [ -n "$n" ] || continue
    any=yes
    read_issuer "$n"
    if [ "$ISSUER" = "$ca" ]; then
      echo "kept $MEMBERS/$n.p12 (already signed by $ca)"
    else
      issue_member "$n" yes "$(san_of "$n")"
    fi
  done < <(member_names)
  [ "$any" = yes ] || log "no member key stores in $MEMBERS"
}

# The SAN list of member NAME's certificate, to keep it when renewing ("" if unreadable).
san_of() {
  local line out=() part
  line="$(keytool "${QUICK[@]}" -printcert -file "$MEMBERS/$1.crt" 2>/dev/null \
    | sed -n '/SubjectAlternativeName/,/^\]/p' | grep -E 'DNSName|IPAddress' || true)"
  while read -r part; do
    case "$part" in
      DNSName:*) out+=("dns:$(echo "${part#DNSName:}" | tr -d ' ')") ;;
      IPAddress:*) out+=("ip:$(echo "${part#IPAddress:}" | tr -d ' ')") ;;
    esac
  done <<<"$line"
  (IFS=','; echo "${out[*]:-}")
}

cmd_retire_ca() {
  [ $# -eq 1 ] || die "retire-ca takes the CA's name, e.g. vmap-ca-1 (see 'show')"
  local name="$1"
  [[ "$name" =~ ^vmap-ca-[0-9]+$ ]] || die "CA name '$name' is not vmap-ca-N (see 'show')"
  [ "$name" != "$(current_ca)" ] || die "$name is the current CA: run 'new-ca' and 'renew' first"
  local n
  while read -r n; do
    [ -n "$n" ] || continue
    read_issuer "$n"
    [ "$ISSUER" != "$name" ] || die "member $n is still signed by $name: run 'renew' first"
  done < <(member_names)
  if keytool "${QUICK[@]}" -list -keystore "$TRUST" -storepass:env VMAP_TLS_TRUST_STORE_PASSWORD -alias "$name" >/dev/null 2>&1; then
    kt -delete -alias "$name" -keystore "$TRUST" -storepass:env VMAP_TLS_TRUST_STORE_PASSWORD
    echo "updated $TRUST (no longer trusts $name)"
  else
    echo "kept $TRUST (did not trust $name)"
  fi
  if [ -f "$CA_DIR/$name.p12" ]; then
    mkdir -p "$CA_DIR/retired"
    mv "$CA_DIR/$name.p12" "$CA_DIR/$name.crt" "$CA_DIR/retired/"
    echo "moved $CA_DIR/$name.p12 and .crt to $CA_DIR/retired/"
  fi
  log "next: copy $TRUST to every member and restart them one at a time"
}

cmd_show() {
  [ $# -eq 0 ] || die "show takes no arguments"
  echo "directory $DIR"
  echo "current CA: $(current_ca)"
  if [ -f "$TRUST" ]; then
    echo "trust store $TRUST:"
    keytool "${QUICK[@]}" -list -v -keystore "$TRUST" -storepass:env VMAP_TLS_TRUST_STORE_PASSWORD 2>/dev/null \
      | grep -E '^(Alias name|Owner|Valid from):' | sed 's/^/  /'
  else
    echo "no trust store"
  fi
  local n
  while read -r n; do
    [ -n "$n" ] || continue
    echo "member $n ($MEMBERS/$n.p12):"
    keytool "${QUICK[@]}" -list -v -keystore "$MEMBERS/$n.p12" -storepass:env VMAP_TLS_KEY_STORE_PASSWORD \
      -alias "$MEMBER_ALIAS" 2>/dev/null | awk '/^Certificate\[2\]/{exit} /^(Owner|Issuer|Valid from):/' \
      | sed 's/^/  /'
    echo "  SAN: $(san_of "$n")"
  done < <(member_names)
}

case "$COMMAND" in
  init) cmd_init "${ARGS[@]+"${ARGS[@]}"}" ;;
  member) cmd_member "${ARGS[@]+"${ARGS[@]}"}" ;;
  new-ca) cmd_new_ca "${ARGS[@]+"${ARGS[@]}"}" ;;
  renew) cmd_renew "${ARGS[@]+"${ARGS[@]}"}" ;;
  retire-ca) cmd_retire_ca "${ARGS[@]+"${ARGS[@]}"}" ;;
  show) cmd_show "${ARGS[@]+"${ARGS[@]}"}" ;;
  -h|--help|help) usage help ;;
  *) die "unknown command '$COMMAND' (init, member, new-ca, renew, retire-ca, show; see --help)" ;;
esac
