-- arremove.lua: forged Authentication-Results fields carrying our
-- authserv-id are deleted, highest index first; others are not touched.
-- A PeerList client gets accept at connect.
dofile(dir .. "/common.lua")

local headers = {
	{ "Authentication-Results", "mx.example.net; dkim=pass header.d=forged1" },
	{ "From", "Mallory <mallory@evil.example>" },
	{ "Authentication-Results", "other.example; dkim=pass header.d=keep" },
	{ "authentication-results", "MX.Example.Net; spf=pass" },
	{ "Subject", "forged" },
	{ "Authentication-Results", "(comment) mx.example.net\r\n\t; dkim=pass" },
}
local conn = open_conn("mail.outside.example", "192.0.2.10")
send_message(conn, headers, "body\r\n")
expect_reply(conn, SMFIR_ACCEPT, "end of message")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "forged A-R deleted")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "our A-R inserted")
mt.disconnect(conn)
mt.echo("ok: forged Authentication-Results deleted (miltertest)")

conn = mt.connect(socket, 20, 0.1)
check(conn ~= nil, "mt.connect")
check(mt.conninfo(conn, "peer.example", "192.0.2.99") == nil, "mt.conninfo")
expect_reply(conn, SMFIR_ACCEPT, "PeerList client at connect")
mt.disconnect(conn)
mt.echo("ok: PeerList client accepted at connect (miltertest)")
