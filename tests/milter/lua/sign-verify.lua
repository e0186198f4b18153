-- sign-verify.lua: an internal client's message is signed (DKIM-Signature
-- inserted at the top, accept); the signed message sent again from an
-- external client gets Authentication-Results dkim=pass at the top; the
-- same with a changed body gets dkim=fail.
dofile(dir .. "/common.lua")

local conn = open_conn("localhost", "127.0.0.1")
send_message(conn, HEADERS, BODY)
expect_reply(conn, SMFIR_ACCEPT, "end of message (signing)")
check(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"), "DKIM-Signature inserted")
local sig = mt.getheader(conn, "DKIM-Signature", 0)
check(sig ~= nil, "DKIM-Signature value")
check(string.find(sig, "d=example.com;", 1, true), "d= in " .. sig)
check(string.find(sig, "s=sel;", 1, true), "s= in " .. sig)
check(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature", sig, 0), "DKIM-Signature at index 0")
mt.disconnect(conn)
mt.echo("ok: signed by the milter (miltertest)")

local signed = { { "DKIM-Signature", sig } }
for _, h in ipairs(HEADERS) do
	table.insert(signed, h)
end

conn = open_conn("mail.outside.example", "192.0.2.10")
send_message(conn, signed, BODY)
expect_reply(conn, SMFIR_ACCEPT, "end of message (verifying)")
local ar = mt.getheader(conn, "Authentication-Results", 0)
check(ar ~= nil, "Authentication-Results inserted")
check(string.find(ar, "mx.example.net;", 1, true), "authserv-id in " .. ar)
check(string.find(ar, "dkim=pass (2048-bit key) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=sel header.b=", 1, true), "dkim=pass in " .. ar)
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", ar, 0), "A-R at index 0")
mt.disconnect(conn)
mt.echo("ok: dkim=pass (miltertest)")

conn = open_conn("mail.outside.example", "192.0.2.10")
send_message(conn, signed, BODY .. "Added line.\r\n")
expect_reply(conn, SMFIR_ACCEPT, "end of message (tampered)")
ar = mt.getheader(conn, "Authentication-Results", 0)
check(ar ~= nil and string.find(ar, "dkim=fail reason=\"body hash did not verify\"", 1, true), "dkim=fail in " .. tostring(ar))
mt.disconnect(conn)
mt.echo("ok: dkim=fail for a changed body (miltertest)")
