-- common.lua - helpers shared by the miltertest scripts (loaded with dofile).
-- The daemon's socket comes from the command line: miltertest -D socket=...

function check(cond, what)
	if not cond then
		error("FAIL: " .. what)
	end
end

function expect_reply(conn, want, what)
	local got = mt.getreply(conn)
	check(got == want, what .. ": reply " .. tostring(got) .. ", expected " .. tostring(want))
end

-- A connection from client ip (host name name), with the MTA's j macro.
function open_conn(name, ip)
	local conn = mt.connect(socket, 20, 0.1)
	check(conn ~= nil, "mt.connect(" .. socket .. ")")
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.net", "{daemon_name}", "smtpd")
	check(mt.conninfo(conn, name, ip) == nil, "mt.conninfo")
	return conn
end

-- Sends envelope, the given header fields ({name, value} pairs) and body.
function send_message(conn, headers, body)
	mt.macro(conn, SMFIC_MAIL, "i", "MTQID0001")
	check(mt.mailfrom(conn, "alice@example.com") == nil, "mt.mailfrom")
	expect_reply(conn, SMFIR_CONTINUE, "mail from")
	-- The milter asks not to be sent the steps it has no use for.
	if not mt.test_option(conn, SMFIP_NORCPT) then
		check(mt.rcptto(conn, "bob@example.net") == nil, "mt.rcptto")
	end
	for _, h in ipairs(headers) do
		check(mt.header(conn, h[1], h[2]) == nil, "mt.header " .. h[1])
	end
	check(mt.eoh(conn) == nil, "mt.eoh")
	check(mt.bodystring(conn, body) == nil, "mt.bodystring")
	check(mt.eom(conn) == nil, "mt.eom")
end

HEADERS = {
	{ "From", "Alice <alice@example.com>" },
	{ "To", "Bob <bob@example.net>" },
	{ "Subject", "miltertest message" },
	{ "Date", "Sun, 22 Nov 2026 00:00:00 +0000" },
	{ "Message-ID", "<miltertest@example.com>" },
}
BODY = "Hello from miltertest.\r\n\r\nSecond paragraph.\r\n"
