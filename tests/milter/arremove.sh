#!/bin/sh
# Authentication-Results fields that claim our authserv-id are removed,
# wherever they are and however they are written (name case, comments,
# quotes, folding, no space), all of them - the client applies deletions
# in order and renumbers like Postfix, so deleting in ascending order would
# leave some behind (CVE-2022-48521). Other fields stay, in order.
# RemoveARFrom and RemoveARAll widen the removal. AuthservIDWithJobID:
# "authserv-id/queue-id", and fields claiming ours with any job id go.
# PeerList clients' mail passes untouched.
. "$top_srcdir/tests/milter/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/base.conf"
mt_start "$T/base.conf"
EXT="-a 203.0.113.9"

cat > "$T/forged.eml" <<'EOF'
Authentication-Results: mx.example.net; dkim=pass header.d=forged1
From: Mallory <mallory@evil.example>
authentication-results: MX.EXAMPLE.NET; dkim=pass header.d=forged2
To: victim@example.net
Authentication-Results: other.example; dkim=pass header.d=keep1
AUTHENTICATION-RESULTS: (a comment (nested)) mx.example.net
	; dkim=pass header.d=forged3
Subject: forged verdicts
Authentication-Results: "mx.example.net"; spf=pass smtp.mailfrom=forged4
Authentication-Results: mx.example.net.evil.example; dkim=pass header.d=keep2
Date: Sun, 22 Nov 2026 00:00:00 +0000
Authentication-Results:mx.example.net;dkim=pass header.d=forged5
Authentication-Results:   mx.example.net 1 ; dkim=pass header.d=forged6
Message-ID: <forged@evil.example>

body
EOF

mt_send "$T/out.eml" "$T/forged.eml" $EXT
mt_nogrep "$T/out.eml" 'forged[0-9]' "forged A-R left"
[ "$(grep -ci '^authentication-results:' "$T/out.eml")" -eq 3 ] ||
	{ cat "$T/out.eml" >&2; mt_fail "expected our A-R and 2 others"; }
head -n 2 "$T/out.eml" | tr -d '\n' | grep -q '^Authentication-Results: mx.example.net;	dkim=none$' ||
	{ cat "$T/out.eml" >&2; mt_fail "our A-R is not first"; }
grep -i '^authentication-results:' "$T/out.eml" | sed -n '2p;3p' | tr -d '\n' |
	grep -q 'keep1.*keep2' || mt_fail "other A-R fields not kept in order"
mt_grep "$MT_LOG" 'removed=6 forged Authentication-Results' "log line"
mt_ok "6 forged A-R fields removed, 2 others kept in order"

# Internal client (signing): forged fields go too.
mt_send "$T/out-int.eml" "$T/forged.eml"
mt_nogrep "$T/out-int.eml" 'forged[0-9]' "forged A-R left (internal client)"
mt_grep "$T/out-int.eml" 'keep2' "other A-R (internal client)"
mt_ok "forged A-R removed on the signing path too"
mt_stop

# RemoveARFrom other.example: keep1 goes as well; RemoveARAll: everything.
cp "$T/base.conf" "$T/from.conf"
printf 'RemoveARFrom\tother.example\n' >> "$T/from.conf"
mt_start "$T/from.conf"
mt_send "$T/out-from.eml" "$T/forged.eml" $EXT
mt_nogrep "$T/out-from.eml" 'forged[0-9]|keep1' "RemoveARFrom"
mt_grep "$T/out-from.eml" 'keep2' "RemoveARFrom keeps others"
mt_ok "RemoveARFrom other.example"
mt_stop
cp "$T/base.conf" "$T/all.conf"
printf 'RemoveARAll\tyes\n' >> "$T/all.conf"
mt_start "$T/all.conf"
mt_send "$T/out-all.eml" "$T/forged.eml" $EXT
mt_nogrep "$T/out-all.eml" 'forged[0-9]|keep[0-9]' "RemoveARAll"
[ "$(grep -ci '^authentication-results:' "$T/out-all.eml")" -eq 1 ] || mt_fail "RemoveARAll"
mt_ok "RemoveARAll"
mt_stop

# PeerList: mail from these clients passes untouched (no signature, no A-R
# change), even when it is ours to sign.
cp "$T/base.conf" "$T/peer.conf"
printf 'PeerList\t203.0.113.0/24, 127.0.0.2\nInternalHosts\t127.0.0.0/8\n' >> "$T/peer.conf"
mt_start "$T/peer.conf"
mt_message "$T/msg.eml"
mt_send "$T/peer1.eml" "$T/msg.eml" -a 127.0.0.2
cmp -s "$T/msg.eml" "$T/peer1.eml" || mt_fail "PeerList client's message changed"
mt_grep "$T/peer1.eml.result" '^result: accept$' "PeerList accept"
mt_send "$T/peer2.eml" "$T/forged.eml" $EXT
cmp -s "$T/forged.eml" "$T/peer2.eml" || mt_fail "PeerList: forged A-R touched"
mt_send "$T/peer3.eml" "$T/msg.eml" -a 127.0.0.3
mt_grep "$T/peer3.eml" '^DKIM-Signature:' "internal non-peer client still signed"
mt_grep "$MT_LOG" 'client in PeerList, not processed' "LogWhy line for a peer"
mt_ok "PeerList clients untouched"
mt_stop

# AuthservIDWithJobID: our field says "mx.example.net/QUEUEID" (quoted: '/'
# is not a token character); fields claiming ours with any job id, quoted
# or not, are removed with the option off as well as on; RemoveARFrom
# matches "host/job" by its host.
cat > "$T/jobs.eml" <<'EOF'
Authentication-Results: mx.example.net/4OTHERQ; dkim=pass header.d=forged1
Authentication-Results: "mx.example.net/4ABC123DEF"; dkim=pass header.d=forged2
Authentication-Results: MX.EXAMPLE.NET./x; dkim=pass header.d=forged3
Authentication-Results: mx.example.net.evil/4Q; dkim=pass header.d=keep1
Authentication-Results: other.example/4Q; dkim=pass header.d=keep2
From: Mallory <mallory@evil.example>
To: victim@example.net
Subject: forged verdicts with job ids
Date: Sun, 22 Nov 2026 00:00:00 +0000
Message-ID: <jobs@evil.example>

body
EOF
mt_start "$T/base.conf"
mt_send "$T/job-off.eml" "$T/jobs.eml" $EXT
mt_nogrep "$T/job-off.eml" 'forged[0-9]' "forged A-R with a job id left (option off)"
mt_grep "$T/job-off.eml" 'keep1' "mx.example.net.evil/4Q is not ours"
mt_grep "$T/job-off.eml" '^Authentication-Results: mx.example.net;' "no job id without the option"
mt_stop
cp "$T/base.conf" "$T/job.conf"
printf 'AuthservIDWithJobID\tyes\nRemoveARFrom\tother.example\n' >> "$T/job.conf"
mt_start "$T/job.conf"
mt_send "$T/job-on.eml" "$T/jobs.eml" $EXT -i 4XyZ9Lq
mt_nogrep "$T/job-on.eml" 'forged[0-9]|keep2' "forged A-R with a job id left (option on)"
mt_grep "$T/job-on.eml" 'keep1' "mx.example.net.evil/4Q kept"
head -n 2 "$T/job-on.eml" | tr -d '\n' |
	grep -q '^Authentication-Results: "mx.example.net/4XyZ9Lq";	dkim=none$' ||
	{ cat "$T/job-on.eml" >&2; mt_fail "our A-R does not carry the job id"; }
mt_grep "$MT_LOG" '4XyZ9Lq: .*removed=4 forged' "log line"
# A queue id that would break the field is left out, not written.
mt_send "$T/job-bad.eml" "$T/jobs.eml" $EXT -i '4Q; dkim=pass'
head -n 1 "$T/job-bad.eml" | grep -q '^Authentication-Results: mx.example.net;' ||
	{ cat "$T/job-bad.eml" >&2; mt_fail "hostile queue id written"; }
long=Q12345678901234567890123456789012345678901234567890123456789012345
mt_send "$T/job-long.eml" "$T/jobs.eml" $EXT -i "$long"
head -n 1 "$T/job-long.eml" | grep -q '^Authentication-Results: mx.example.net;' ||
	{ cat "$T/job-long.eml" >&2; mt_fail "queue id over 64 characters written (cut)"; }
# The option does not change what a signer writes: no A-R on signing.
mt_message "$T/msg.eml"
mt_send "$T/job-sign.eml" "$T/msg.eml" -i 4S
mt_verify "$T/job-sign.eml"
mt_nogrep "$T/job-sign.eml" '^Authentication-Results:' "A-R on signing"
mt_ok "AuthservIDWithJobID: \"mx.example.net/QID\"; forged ours/anything removed; bad ids left out"
mt_stop
exit 0
