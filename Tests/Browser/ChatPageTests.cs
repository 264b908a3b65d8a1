using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Orleans.Tests.Browser;

/// <summary>
/// The chat page in a real (headless) Chromium against the real gateway, silo and PostgreSQL: what a
/// user types and sees. Each test leaves a screenshot in bin/.../screenshots named after it.
/// </summary>
public sealed class ChatPageTests(BrowserFixture cluster) : IClassFixture<BrowserFixture>
{
    private static string NewRoom() => "web-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Two_pages_in_a_room_see_each_others_messages_with_names_and_the_roster_follows_who_is_there()
    {
        var room = NewRoom();
        await using var alice = await cluster.OpenPageAsync();
        await alice.JoinAsync("Alice", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);

        await alice.ExpectRosterAsync("Alice", "Bob");
        await bob.ExpectRosterAsync("Alice", "Bob");
        await Expect(alice.Page.Locator("#roster-count")).ToHaveTextAsync("2");
        await Expect(alice.SystemLines.Last).ToHaveTextAsync("Bob joined");

        await alice.SendAsync("Hi Bob, how are you?");
        await bob.SendAsync("Fine thanks, and you?");
        await alice.SendAsync("Great! This page is in a real browser.");

        foreach (var page in new[] { alice, bob })
        {
            await page.ExpectMessagesAsync("Hi Bob, how are you?", "Fine thanks, and you?", "Great! This page is in a real browser.");
            Assert.Equal(["Alice", "Bob", "Alice"], (await page.ReadMessagesAsync()).Select(m => m.Name));
            await Expect(page.Messages.First.Locator("time")).ToHaveTextAsync(new Regex(@"^\d\d:\d\d$"));
        }

        // One's own messages are marked as such.
        await Expect(bob.Page.Locator("#log .message.own .message-text")).ToHaveTextAsync(["Fine thanks, and you?"]);
        await bob.ScreenshotAsync(Name() + ".bob");

        await bob.DisposeAsync();
        await alice.ExpectRosterAsync("Alice");
        await Expect(alice.SystemLines.Last).ToHaveTextAsync("Bob left");
        await Expect(alice.Page.Locator("#roster-count")).ToHaveTextAsync("1");

        await alice.ScreenshotAsync(Name());
        await alice.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_private_room_created_with_the_button_is_joined_through_its_invite_link_and_stays_invisible_to_public_rooms()
    {
        // A bystander in a public room, there before and during the private chat.
        await using var carol = await cluster.OpenPageAsync();
        await carol.JoinAsync("Carol", NewRoom());
        await carol.SendAsync("anyone around?");
        await carol.ExpectMessagesAsync("anyone around?");

        await using var alice = await cluster.OpenPageAsync();
        await alice.NameInput.FillAsync("Alice");
        await alice.Page.Locator("#create-private-button").ClickAsync();
        await alice.WaitConnectedAsync();
        await Expect(alice.Page.Locator("#room-title")).ToHaveTextAsync("Private room");
        var invite = alice.Page.Locator("#invite-link");
        await Expect(invite).ToBeVisibleAsync();
        var link = (await invite.GetAttributeAsync("href"))!;
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/#[0-9a-f]{64}$", link);
        Assert.Equal(link, alice.Page.Url);

        // "Copy link" puts the invite link on the clipboard.
        await alice.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var copy = alice.Page.Locator("#copy-link-button");
        await copy.ClickAsync();
        await Expect(copy).ToHaveTextAsync("Copied!");
        Assert.Equal(link, await alice.Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));

        // The invitee opens the link in a browser of their own (a new context: no shared storage), on a phone.
        await using var bob = await cluster.OpenPageAsync(BrowserFixture.Phone, path: new Uri(link).PathAndQuery + new Uri(link).Fragment);
        await Expect(bob.Page.Locator("#join-lead")).ToHaveTextAsync("Enter your name to join the private room.");
        await bob.JoinInvitedAsync("Bob");
        await Expect(bob.Page.Locator("#invite-link")).ToHaveAttributeAsync("href", link);

        await alice.ExpectRosterAsync("Alice", "Bob");
        await bob.ExpectRosterAsync("Alice", "Bob");
        await alice.SendAsync("This room is just for us.");
        await bob.SendAsync("Nobody else can find it?");
        await alice.SendAsync("Not without the link.");
        string[] secret = ["This room is just for us.", "Nobody else can find it?", "Not without the link."];
        await alice.ExpectMessagesAsync(secret);
        await bob.ExpectMessagesAsync(secret);

        // Carol saw her own message and nothing of the private room, and nobody of it joined her.
        await carol.ExpectMessagesAsync("anyone around?");
        await carol.ExpectRosterAsync("Carol");
        await Expect(carol.Page.Locator("#log")).Not.ToContainTextAsync("Alice");
        await Expect(carol.Page.Locator("#log")).Not.ToContainTextAsync("Bob");
        await alice.ExpectMessagesAsync(secret);

        await alice.ScreenshotAsync(Name());
        await bob.ScreenshotAsync(Name() + ".phone");
        await carol.ScreenshotAsync(Name() + ".public");
        foreach (var page in new[] { alice, bob, carol })
        {
            await page.AssertNoErrorsAsync();
        }
    }

    [Fact]
    public async Task A_link_to_a_private_room_the_server_never_made_says_so_and_stops_retrying()
    {
        var forged = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var page = await cluster.OpenPageAsync(path: "/#" + forged);
        await page.NameInput.FillAsync("Mallory");
        await page.Page.Locator("#join-button").ClickAsync();

        await Expect(page.Page.Locator("#log")).ToContainTextAsync("This private room does not exist.");
        await Expect(page.Page.Locator("#log")).ToContainTextAsync("Unknown private room.");
        await Expect(page.Status).ToHaveAttributeAsync("data-state", "disconnected");
        await page.ScreenshotAsync(Name());
    }

    [Fact]
    public async Task A_page_that_joins_late_sees_the_earlier_messages_in_order()
    {
        var room = NewRoom();
        await using var alice = await cluster.OpenPageAsync();
        await alice.JoinAsync("Alice", room);
        string[] earlier = ["first, before anyone came", "second: still alone", "third and last for now"];
        foreach (var text in earlier)
        {
            await alice.SendAsync(text);
        }

        await alice.ExpectMessagesAsync(earlier);
        await alice.DisposeAsync();

        // Stored in PostgreSQL in that order...
        Assert.Equal(earlier, (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));

        // ... and shown in that order to someone who comes later, on a phone.
        await using var bob = await cluster.OpenPageAsync(BrowserFixture.Phone);
        await bob.JoinAsync("Bob", room);
        await bob.ExpectMessagesAsync(earlier);
        Assert.All(await bob.ReadMessagesAsync(), m => Assert.Equal("Alice", m.Name));
        await bob.ExpectRosterAsync("Bob");

        // History comes first, then the welcome.
        var lines = await bob.Page.Locator("#log > *").AllTextContentsAsync();
        Assert.StartsWith("Welcome to #" + room, lines[^1]);

        await bob.SendAsync("Hello? I just read all of that.");
        await bob.ExpectMessagesAsync([.. earlier, "Hello? I just read all of that."]);
        await bob.ScreenshotAsync(Name());
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task Scrolling_to_the_top_loads_earlier_messages_in_order_and_keeps_the_place()
    {
        var room = NewRoom();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1_000_000;
        await cluster.Postgres.ScalarAsync<long>(
            "WITH added AS (INSERT INTO chat_messages (room, timestamp_ms, name, message) " +
            "SELECT $1, $2 + g, 'Ann', 'old ' || g FROM generate_series(1, 150) AS g RETURNING 1) SELECT count(*) FROM added",
            room, start);
        await using var reader = await cluster.OpenPageAsync();
        await reader.JoinAsync("Reader", room);
        await Expect(reader.Messages).ToHaveCountAsync(100);

        // The user scrolls to the top: the 50 messages before the history come in above it.
        var log = reader.Page.Locator("#log");
        await log.EvaluateAsync("e => { e.scrollTop = 0; }");
        await Expect(reader.Messages).ToHaveCountAsync(150);
        Assert.Equal(Enumerable.Range(1, 150).Select(i => $"old {i}"), (await reader.ReadMessagesAsync()).Select(m => m.Text));

        // The view kept its place: the message that was at the top is still in view, not pushed down out of it.
        var visible = await log.EvaluateAsync<bool>("""
            e => {
              const m = [...e.querySelectorAll('.message')].find(x => x.querySelector('.message-text').textContent === 'old 51');
              const a = m.getBoundingClientRect(), b = e.getBoundingClientRect();
              return a.bottom > b.top && a.top < b.bottom;
            }
            """);
        Assert.True(visible, "the first message of the history is still in view after older ones came in");
        await reader.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_message_typed_while_the_gateway_is_down_arrives_exactly_once_after_the_page_reconnects()
    {
        var (gateway, restart) = await StartRestartableGatewayAsync();
        var room = NewRoom();
        await using var alice = await cluster.OpenPageAsync(gateway: gateway);
        await using var bob = await cluster.OpenPageAsync(gateway: gateway);
        await alice.JoinAsync("Alice", room);
        await bob.JoinAsync("Bob", room);
        await alice.SendAsync("before");
        await bob.ExpectMessagesAsync("before");

        await gateway.StopAsync();
        await Expect(alice.Status).ToHaveAttributeAsync("data-state", "reconnecting");

        // Typed during the drop: the page keeps it in its outbox and says so.
        await alice.SendAsync("typed while away");
        await Expect(alice.SystemLines.Filter(new() { HasText = "will be sent" })).ToHaveCountAsync(1);

        await using var restarted = await restart();
        await Expect(alice.Status).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 30_000 });
        await alice.ExpectMessagesAsync("before", "typed while away");
        await bob.ExpectMessagesAsync("before", "typed while away");
        Assert.Equal(["before", "typed while away"], (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));
        await alice.AssertNoErrorsAsync(allowFailedWebSockets: true);
    }

    [Fact]
    public async Task Pages_reconnect_by_themselves_when_their_gateway_restarts_keep_chatting_and_show_nothing_twice()
    {
        var (gateway, restart) = await StartRestartableGatewayAsync();
        var room = NewRoom();
        await using var alice = await cluster.OpenPageAsync(gateway: gateway);
        await using var bob = await cluster.OpenPageAsync(gateway: gateway);
        await alice.JoinAsync("Alice", room);
        await bob.JoinAsync("Bob", room);
        await alice.SendAsync("before the restart (Alice)");
        await bob.SendAsync("before the restart (Bob)");
        string[] before = ["before the restart (Alice)", "before the restart (Bob)"];
        await alice.ExpectMessagesAsync(before);
        await bob.ExpectMessagesAsync(before);

        await gateway.StopAsync();
        await Expect(alice.Status).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(bob.Status).ToHaveAttributeAsync("data-state", "reconnecting");

        // While they are away, someone on another gateway says something: it is in the history they get back.
        await using (var carol = await cluster.JoinAsync(room, "Carol", BrowserFixture.NewAddress()))
        {
            await carol.SendAsync(new { message = "said while the gateway was down" });
            await carol.ExpectMessageAsync("said while the gateway was down");
        }

        var restarted = await restart();
        Assert.Equal(gateway.HttpUri, restarted.HttpUri);

        // Nobody reloads anything: the pages come back by themselves.
        await Expect(alice.Status).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 30_000 });
        await Expect(bob.Status).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 30_000 });
        await alice.ExpectRosterAsync("Alice", "Bob");
        await bob.ExpectRosterAsync("Alice", "Bob");

        await alice.SendAsync("after the restart (Alice)");
        await bob.SendAsync("after the restart (Bob)");
        string[] all = [.. before, "said while the gateway was down", "after the restart (Alice)", "after the restart (Bob)"];
        foreach (var page in new[] { alice, bob })
        {
            await page.ExpectMessagesAsync(all);
            var states = await page.StatusStatesAsync();
            var reconnecting = Array.IndexOf(states, "reconnecting");
            Assert.True(reconnecting > 0, "status went: " + string.Join(" → ", states));
            Assert.Equal("connected", states[^1]);
            Assert.Equal(1, await page.SystemLines.Filter(new() { HasText = "Connection lost" }).CountAsync());
            Assert.Equal(1, await page.SystemLines.Filter(new() { HasText = "Reconnected." }).CountAsync());
            Assert.True(page.WebSockets.Count >= 2, "the page reconnected over a new socket");
            Assert.Equal(1, await page.Page.EvaluateAsync<int>("() => performance.getEntriesByType('navigation').length"));
        }

        // And the whole log, once more, with no duplicates by name and text.
        var aliceLog = await alice.ReadMessagesAsync();
        Assert.Equal(aliceLog.Count, aliceLog.Distinct().Count());

        await alice.ScreenshotAsync(Name());
        await bob.ScreenshotAsync(Name() + ".bob");
        await alice.AssertNoErrorsAsync(allowFailedWebSockets: true);
        await bob.AssertNoErrorsAsync(allowFailedWebSockets: true);
    }

    [Fact]
    public async Task Html_and_script_in_names_and_messages_are_shown_as_literal_text_and_run_nothing()
    {
        const string evilName = "<img src=x onerror=window.n=1>";
        const string evilMessage = "<img src=x onerror=\"window.xssImg=1\"><script>window.xssScript=1</script><b>bold?</b>";
        const string evilMessage2 = "</div><svg onload=window.xssSvg=1><iframe srcdoc=\"<script>parent.xssFrame=1</script>\">";
        var room = NewRoom();
        await using var attacker = await cluster.OpenPageAsync();
        await attacker.JoinAsync(evilName, room);
        await using var victim = await cluster.OpenPageAsync();
        var requestsForX = 0;
        victim.Page.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/x")
            {
                Interlocked.Increment(ref requestsForX);
            }
        };
        await victim.JoinAsync("Victim", room);

        await attacker.SendAsync(evilMessage);
        await attacker.SendAsync(evilMessage2);
        foreach (var page in new[] { victim, attacker })
        {
            await page.ExpectMessagesAsync(evilMessage, evilMessage2);
            Assert.All(await page.ReadMessagesAsync(), m => Assert.Equal(evilName, m.Name));
            await page.ExpectRosterAsync(evilName, "Victim");
            Assert.Equal(0, await page.Page.Locator("#log img, #log script, #log b, #log svg, #log iframe, #roster img, #room-title *").CountAsync());
            Assert.Null(await page.Page.EvaluateAsync<object?>("() => window.n ?? window.xssImg ?? window.xssScript ?? window.xssSvg ?? window.xssFrame ?? null"));
        }

        await Expect(attacker.SystemLines.Last).ToHaveTextAsync("Victim joined");
        Assert.Equal(0, requestsForX);

        // Also as a room name: the title shows it as text.
        await using var third = await cluster.OpenPageAsync();
        await third.JoinAsync("Third", "<b onmouseover=alert(1)>hi");
        await Expect(third.Page.Locator("#room-title")).ToHaveTextAsync("#<b onmouseover=alert(1)>hi");
        Assert.Equal(0, await third.Page.Locator("#room-title *").CountAsync());

        await victim.ScreenshotAsync(Name());
        foreach (var page in new[] { attacker, victim, third })
        {
            await page.AssertNoErrorsAsync();
        }
    }

    [Fact]
    public async Task The_33rd_character_of_a_name_and_the_257th_of_a_message_cannot_be_typed()
    {
        await using var page = await cluster.OpenPageAsync(BrowserFixture.Phone);
        var name = string.Concat(Enumerable.Repeat("Bartholomew ", 4))[..40];
        await page.NameInput.PressSequentiallyAsync(name);
        Assert.Equal(name[..32], await page.NameInput.InputValueAsync());

        await page.RoomInput.FillAsync(NewRoom());
        await page.Page.Locator("#join-button").ClickAsync();
        await page.WaitConnectedAsync();
        await page.ExpectRosterAsync(name[..32]);

        var message = string.Concat(Enumerable.Range(0, 300).Select(i => (char)('a' + (i % 26))));
        await page.MessageInput.PressSequentiallyAsync(message);
        Assert.Equal(256, (await page.MessageInput.InputValueAsync()).Length);

        // Pasting does not get around it either.
        await page.MessageInput.FillAsync("");
        await page.MessageInput.FocusAsync();
        await page.Page.Keyboard.InsertTextAsync(message);
        Assert.Equal(message[..256], await page.MessageInput.InputValueAsync());

        // What fits is accepted by the server: the longest message goes through whole.
        await page.MessageInput.PressAsync("Enter");
        await page.ExpectMessagesAsync(message[..256]);
        Assert.Empty(await page.Errors.AllTextContentsAsync());

        await page.ScreenshotAsync(Name());
        await page.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_burst_of_messages_shows_the_rate_limit_error_in_the_log()
    {
        var room = NewRoom();
        await using var page = await cluster.OpenPageAsync();
        await page.JoinAsync("Speedy", room);

        var sent = new List<string>();
        for (var i = 1; i <= 8; i++)
        {
            var text = $"burst message {i}";
            await page.TypeAndEnterAsync(text);
            sent.Add(text);
        }

        // Every message is answered: shown, or refused.
        try
        {
            await page.Page.WaitForFunctionAsync("""
                () => {
                  let refused = 0;
                  for (const line of document.querySelectorAll('#log .error.rate-limit')) refused += Number(line.dataset.repeat || 1);
                  return document.querySelectorAll('#log .message').length + refused === 8;
                }
                """, null, new PageWaitForFunctionOptions { Timeout = 15_000 });
        }
        catch (TimeoutException)
        {
            var log = await page.Page.Locator("#log > *").EvaluateAllAsync<string[]>(
                "lines => lines.map(l => l.className + (l.dataset.repeat ? ' x' + l.dataset.repeat : '') + ': ' + l.textContent)");
            Assert.Fail("Not every message was answered (shown or refused). The log:\n" + string.Join("\n", log));
        }

        var error = page.Page.Locator("#log .error.rate-limit");
        await Expect(error).ToContainTextAsync("Slow down!");
        await Expect(error).ToContainTextAsync("5 seconds");

        // The burst allowance passed; what came after it was refused, not shown.
        var shown = await page.MessageTexts.AllTextContentsAsync();
        Assert.InRange(shown.Count, 3, 6);
        Assert.Equal(sent.Take(shown.Count), shown);

        // The refusals are one line with a count, even when the echo of an accepted message (which
        // goes through the room) arrives after a refusal (which the gateway answers at once).
        await Expect(error).ToHaveCountAsync(1);
        Assert.Equal(8 - shown.Count, int.Parse(await error.GetAttributeAsync("data-repeat") ?? "1"));

        // The refused text is not lost: the last one is back in the box, ready to be sent again.
        await Expect(page.MessageInput).ToHaveValueAsync("burst message 8");

        // The limit is per client address: another page (another address) in the room still talks,
        // and the first one sees it. (This also shows that the page's address reaches the WebSocket.)
        await using var other = await cluster.OpenPageAsync();
        await other.JoinAsync("Calm", room);
        await other.SendAsync("I can still talk");
        await other.ExpectMessagesAsync([.. shown, "I can still talk"]);
        await page.ExpectMessagesAsync([.. shown, "I can still talk"]);

        await page.ScreenshotAsync(Name());
        await page.AssertNoErrorsAsync();
        await other.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task The_log_follows_new_messages_at_the_bottom_keeps_its_place_when_scrolled_up_and_pages_with_the_keyboard()
    {
        var room = NewRoom();
        await using var reader = await cluster.OpenPageAsync(BrowserFixture.Phone);
        await reader.JoinAsync("Reader", room);

        // Others talk a lot: protocol clients, each from an address of its own, within the burst allowance.
        var talkers = new List<TestChatClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                talkers.Add(await cluster.JoinAsync(room, $"talker {i}", BrowserFixture.NewAddress()));
            }

            var lines = new List<string>();
            async Task SayAsync(TestChatClient talker, string text)
            {
                await talker.SendAsync(new { message = text });
                lines.Add(text);
                await Expect(reader.MessageTexts.Last).ToHaveTextAsync(text);
            }

            for (var i = 0; i < 32; i++)
            {
                await SayAsync(talkers[i % 8], $"line {i + 1}: " + (i % 3 == 0 ? "a longer line that wraps on a phone screen, to make the log taller" : "short"));
            }

            // At the bottom: it followed every new message.
            Assert.True(await DistanceFromBottomAsync() < 2);

            // Page up with the keyboard (the log takes focus), twice; page down once.
            var log = reader.Page.Locator("#log");
            await log.FocusAsync();
            var bottom = await log.EvaluateAsync<double>("e => e.scrollTop");
            var up1 = await ScrollWithKeyAsync("PageUp");
            var up2 = await ScrollWithKeyAsync("PageUp");
            var down = await ScrollWithKeyAsync("PageDown");
            Assert.True(bottom > up1 && up1 > up2 && down > up2, $"scrollTop: bottom {bottom}, PageUp {up1}, PageUp {up2}, PageDown {down}");
            Assert.True(await DistanceFromBottomAsync() > 100);

            // Scrolled up, a new message does not move the view.
            await SayAsync(talkers[8], "news while reading back");
            Assert.Equal(down, await log.EvaluateAsync<double>("e => e.scrollTop"));
            await reader.ScreenshotAsync(Name() + ".scrolled-up");

            // Back at the bottom (End), it follows again.
            await ScrollWithKeyAsync("End");
            Assert.True(await DistanceFromBottomAsync() < 2);
            await SayAsync(talkers[9], "and one more at the bottom");
            Assert.True(await DistanceFromBottomAsync() < 2);

            await reader.ExpectMessagesAsync([.. lines]);
            await reader.ScreenshotAsync(Name());
            await reader.AssertNoErrorsAsync();
        }
        finally
        {
            foreach (var talker in talkers)
            {
                await talker.DisposeAsync();
            }
        }

        Task<double> DistanceFromBottomAsync() =>
            reader.Page.Locator("#log").EvaluateAsync<double>("e => e.scrollHeight - e.scrollTop - e.clientHeight");

        // Presses a key on the focused log and waits until the log has moved and holds still (keyboard scrolling may be animated).
        async Task<double> ScrollWithKeyAsync(string key)
        {
            var before = await reader.Page.Locator("#log").EvaluateAsync<double>("e => e.scrollTop");
            await reader.Page.Keyboard.PressAsync(key);
            await reader.Page.WaitForFunctionAsync("""
                (before) => {
                  const top = document.getElementById('log').scrollTop;
                  const settled = top !== before && window.__lastScrollTop === top;
                  window.__lastScrollTop = top;
                  return settled;
                }
                """, before, new PageWaitForFunctionOptions { PollingInterval = 50 });
            return await reader.Page.Locator("#log").EvaluateAsync<double>("e => e.scrollTop");
        }
    }

    [Fact]
    public async Task The_page_runs_under_its_content_security_policy_without_console_errors_and_its_WebSocket_connects()
    {
        await using var page = await cluster.OpenPageAsync();
        Assert.NotNull(page.Response);
        Assert.Equal(200, page.Response!.Status);
        var csp = await page.Response.HeaderValueAsync("content-security-policy");
        Assert.NotNull(csp);
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);

        // The script ran (it shows the join form) and the style sheet applied.
        await Expect(page.Page.Locator("#join-screen")).ToBeVisibleAsync();
        await Expect(page.Page.Locator("#chat-screen")).ToBeHiddenAsync();
        Assert.Equal("flex", await page.Page.Locator("#join-screen").EvaluateAsync<string>("e => getComputedStyle(e).display"));

        var room = NewRoom();
        var socketTask = page.Page.WaitForWebSocketAsync();
        await page.JoinAsync("Csp", room);
        var socket = await socketTask;
        Assert.Equal($"ws://{cluster.Gateway.HttpUri.Authority}/api/room/{room}/websocket", socket.Url);
        Assert.False(socket.IsClosed);
        await page.SendAsync("hello under a strict CSP");
        await page.ExpectMessagesAsync("hello under a strict CSP");
        Assert.Single(page.WebSockets);

        await page.ScreenshotAsync(Name());
        await page.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_page_signed_in_with_a_token_shows_verified_names_and_a_moderators_delete_vanishes_from_the_other_page_within_a_second()
    {
        var room = NewRoom();
        var token = Gateway.Auth.TokenMinter.Mint(BrowserFixture.SigningKey, new("ada", "Ada", Gateway.Auth.ChatIdentity.Roles.Moderator, null, TimeSpan.FromMinutes(10)));
        await using var ada = await cluster.OpenPageAsync(path: "/#token=" + token);

        // The token leaves the address bar at once (it would end up in history and screenshots).
        Assert.DoesNotContain("token=", ada.Page.Url);
        await ada.JoinAsync("typed name", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);

        await bob.SendAsync("spam to delete");
        await ada.SendAsync("hello from a verified moderator");
        await bob.ExpectMessagesAsync("spam to delete", "hello from a verified moderator");
        await ada.ExpectMessagesAsync("spam to delete", "hello from a verified moderator");

        // The token's name, with the verified mark; Bob, anonymous, has none and no controls.
        var adaOnBob = bob.Messages.Filter(new() { HasText = "hello from a verified moderator" });
        await Expect(adaOnBob.Locator(".message-name")).ToHaveTextAsync("Ada");
        await Expect(adaOnBob.Locator(".verified")).ToBeVisibleAsync();
        await Expect(bob.Page.Locator("#log .message-action")).ToHaveCountAsync(0);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await ada.Messages.Filter(new() { HasText = "spam to delete" }).Locator(".message-action", new() { HasText = "Delete" }).ClickAsync();
        await Expect(bob.MessageTexts).ToHaveTextAsync(["hello from a verified moderator"], new() { Timeout = 1000 });
        await Expect(ada.MessageTexts).ToHaveTextAsync(["hello from a verified moderator"]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the delete took {clock.ElapsedMilliseconds} ms to reach the other page");

        await ada.ScreenshotAsync(Name());
        await ada.AssertNoErrorsAsync();
        await bob.AssertNoErrorsAsync();
    }

    private static string Name([CallerMemberName] string test = "") => test;

    /// <summary>A gateway on a port of its own, and a way to start it again on the same address: a restart, as the pages see it.</summary>
    private async Task<(ChatGateway Gateway, Func<Task<ChatGateway>> Restart)> StartRestartableGatewayAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var gateway = await cluster.StartGatewayAsync(settings => settings["Urls"] = url);
        return (gateway, () => cluster.StartGatewayAsync(settings => settings["Urls"] = url));
    }
}
