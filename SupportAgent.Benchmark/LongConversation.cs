using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using SupportAgent.Fakes;
using SupportAgent.Functions.Chat;

namespace SupportAgent.Benchmark;

/// <summary>
/// <c>--long-conversation</c>: one scripted support conversation replayed the way useChat sends it (the AI SDK's request
/// shape, the whole history every turn, the reply read as a UI message stream) through the self host, twice: with the
/// token budget (the defaults) and sent whole (a budget larger than the conversation, what the tutorial's route does).
/// The fake model reports usage from a real token count; both runs send the same scripted history (the fake's own
/// replies are not put back into it), so the two columns differ only by what the service leaves out. The reducer's
/// time per call is measured in process on the whole conversation at its last turn.
/// </summary>
internal static class LongConversation
{
    private const string Fact = "LC-4711";
    private const int ReducerCalls = 2_000;

    private static readonly string[] Items = ["standing desk", "coffee grinder", "pair of running shoes", "winter jacket", "desk lamp", "blender", "backpack", "set of pans"];
    private static readonly string[] Statuses = ["label created", "in transit", "held at depot", "delivery attempted", "delayed"];
    private static readonly string[] Events = ["my sister's wedding", "a work trip on Monday", "the weekend", "the end of the month", "my move next week"];
    private static readonly string[] Cities = ["Rotterdam", "Leipzig", "Lyon", "Bristol", "Gdansk"];

    private sealed record Run(string Name, List<int> InputTokens, List<double> TurnMs, string LastReply);

    public static async Task<int> RunAsync(BenchOptions o, PidFile pids, string output, TextWriter progress, CancellationToken ct)
    {
        var script = Script(o.Turns);
        progress.WriteLine($"bench: reducer in process, {ReducerCalls} calls on the {o.Turns}-turn conversation");
        var (reducerP50, reducerP95, keptMessages) = MeasureReducer(script);

        Stack? stack = null;
        var runs = new List<Run>();
        try
        {
            progress.WriteLine($"bench: starting Azurite and the fakes (logs in {output})");
            stack = await Stack.StartAsync(o with { ModelLatencyMs = 0, SearchLatencyMs = 0, AddLatencyMs = 0 }, pids, ct, startSelfHost: false);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var fakes = new FakesControl(http, stack.OpenAiUrl, stack.Mem0Url);
            runs.Add(await ReplayAsync(o, stack, fakes, http, "budget", new Dictionary<string, string>(), script, pids, progress, ct));
            runs.Add(await ReplayAsync(o, stack, fakes, http, "whole", new Dictionary<string, string>
            {
                ["PROMPT_TOKEN_BUDGET"] = "1000000",
                ["MODEL_CONTEXT_TOKENS"] = "1048576",
            }, script, pids, progress, ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            progress.WriteLine("bench: interrupted; no results.");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException or JsonException)
        {
            progress.WriteLine($"bench: failed: {ex.Message}");
            return 1;
        }
        finally
        {
            if (stack is not null)
            {
                progress.WriteLine("bench: stopping the fakes and Azurite");
                await stack.DisposeAsync();
            }
        }

        var (table, json) = Report(o, runs[0], runs[1], reducerP50, reducerP95, keptMessages);
        Console.Write(table);
        Console.WriteLine(json);
        File.WriteAllText(Path.Combine(output, "long-conversation.txt"), table);
        File.WriteAllText(Path.Combine(output, "long-conversation.json"), json + Environment.NewLine);
        return 0;
    }

    /// <summary>The conversation: (user, assistant) pairs; turn 1 states a fact, the last turn asks for it.</summary>
    internal static List<(string User, string Assistant)> Script(int turns)
    {
        var pairs = new List<(string, string)>
        {
            ($"Hi, before anything else: my loyalty card number is {Fact}, please use it for the points on everything we discuss today.",
             "Thank you, I have noted it for this conversation. How can I help you today?"),
        };
        for (int i = 1; i < turns - 1; i++)
        {
            string item = Items[i % Items.Length], status = Statuses[i % Statuses.Length], evt = Events[i % Events.Length], city = Cities[i % Cities.Length];
            int order = 40_000 + i * 37;
            pairs.Add((
                $"About order #{order}: the {item} I ordered on the {i % 28 + 1}th still shows '{status}' on the tracking page. I need it before {evt}, " +
                "so could you check with the courier and tell me what happens if it will not make it in time?",
                $"Thanks for the details on order #{order}. I checked with our logistics team: the {item} left our warehouse in {city} and is " +
                $"now with the courier, whose last scan shows '{status}' at the regional hub. Parcels in this state usually arrive within two to " +
                $"three working days, so it should reach you before {evt}. If it has not moved by tomorrow evening, I can open an investigation " +
                "with the courier, and you can choose between a free replacement sent by express delivery or a full refund to the original " +
                "payment method; either one is processed the same day. I have also added a note to the order, so anyone on the team can see " +
                "what we agreed without you having to explain it again. Is there anything else I can help with on this order or another one?"));
        }
        pairs.Add(("Loyalty card number?", ""));
        return pairs;
    }

    private static async Task<Run> ReplayAsync(BenchOptions o, Stack stack, FakesControl fakes, HttpClient http, string name,
        IReadOnlyDictionary<string, string> settings, List<(string User, string Assistant)> script, PidFile pids, TextWriter progress, CancellationToken ct)
    {
        await fakes.ResetAsync(ct);
        int port = Loopback.FreePort();
        await using var host = stack.StartSelfHost(o, port, Path.Combine(o.OutputDir, $"selfhost-long-{name}.log"), pids, settings);
        var url = new Uri($"http://127.0.0.1:{port}/api/chat");
        await WaitReadyAsync(http, url, host, ct);
        progress.WriteLine($"bench: {name}: {script.Count} turns, the whole history each turn");

        string userId = $"bench-long-{name}";
        var input = new List<int>();
        var turnMs = new List<double>();
        string reply = "";
        for (int turn = 1; turn <= script.Count; turn++)
        {
            var messages = new List<object>();
            for (int i = 0; i < turn; i++)
            {
                messages.Add(UiMessage($"u{i}", "user", script[i].User));
                if (i < turn - 1)
                {
                    messages.Add(UiMessage($"a{i}", "assistant", script[i].Assistant));
                }
            }
            if (turn == script.Count)
            {
                // Memory is written behind the replies, through the queue: the last turn asks once turn 1 is in it.
                await WaitForMemoryAsync(fakes, userId, ct);
            }
            long start = Stopwatch.GetTimestamp();
            var (tokens, text) = await SendAsync(http, url, new { id = "bench-chat", userId, messages, trigger = "submit-message" }, ct);
            turnMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            input.Add(tokens);
            reply = text;
            if (turn % 25 == 0)
            {
                progress.WriteLine($"bench: {name}: turn {turn}, {tokens} prompt tokens");
            }
        }
        await host.StopAsync(TimeSpan.FromSeconds(10));
        return new Run(name, input, turnMs, reply);
    }

    private static object UiMessage(string id, string role, string text) => new { id, role, parts = new[] { new { type = "text", text } } };

    private static async Task<(int InputTokens, string Text)> SendAsync(HttpClient http, Uri url, object body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await http.SendAsync(request, ct);
        string stream = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {url} answered {(int)response.StatusCode}: {stream}");
        }
        int? tokens = null;
        var text = new StringBuilder();
        foreach (string line in stream.Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }
            using var e = JsonDocument.Parse(line.AsMemory(6));
            string? type = e.RootElement.GetProperty("type").GetString();
            if (type == "text-delta")
            {
                text.Append(e.RootElement.GetProperty("delta").GetString());
            }
            else if (type == "finish" && e.RootElement.TryGetProperty("messageMetadata", out var metadata)
                && metadata.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                tokens = usage.GetProperty("inputTokens").GetInt32();
            }
        }
        return (tokens ?? throw new InvalidOperationException("The stream's finish event carried no usage."), text.ToString());
    }

    private static async Task WaitReadyAsync(HttpClient http, Uri url, ChildProcess host, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (host.HasExited)
            {
                throw new InvalidOperationException($"The self host exited: {host.Tail()}");
            }
            try
            {
                using var response = await http.PostAsJsonAsync(url, new { userId = "bench-ready", messages = new[] { new { role = "user", content = "hi" } } }, ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            await Task.Delay(200, ct);
        }
        throw new TimeoutException($"The self host did not answer within 90 s ({last}).");
    }

    private static async Task WaitForMemoryAsync(FakesControl fakes, string userId, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var stats = await fakes.Mem0StatsAsync(users: true, ct);
            if (stats.AddsByUser?.GetValueOrDefault(userId) > 0)
            {
                return;
            }
            await Task.Delay(200, ct);
        }
        throw new TimeoutException("No memory was written for the conversation within 120 s.");
    }

    /// <summary>The reducer on the whole conversation at its last turn (system prompt with five memories), per call.</summary>
    private static (double P50, double P95, int Kept) MeasureReducer(List<(string User, string Assistant)> script)
    {
        var limits = new ModelLimits();
        var window = new ConversationWindow(new ChatTokenCounter(limits.ModelName), Options.Create(limits));
        string system = SupportPromptOptions.DefaultInstructions + "\n\n## What we know about this user\nToday's date is 2026-12-03.\n"
            + string.Concat(script.Skip(1).Take(5).Select(p => $"- 2026-12-01: {p.User}\n"));
        var messages = new List<ChatMessage> { new(ChatRole.System, system) };
        for (int i = 0; i < script.Count; i++)
        {
            messages.Add(new ChatMessage(ChatRole.User, script[i].User));
            if (i < script.Count - 1)
            {
                messages.Add(new ChatMessage(ChatRole.Assistant, script[i].Assistant));
            }
        }
        int kept = 0;
        for (int i = 0; i < 200; i++)
        {
            kept = window.Fit(messages).Messages.Count; // JIT and the tokenizer's cache, as on a warm instance
        }
        var ms = new double[ReducerCalls];
        for (int i = 0; i < ReducerCalls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            window.Fit(messages);
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(ms);
        return (ms[ReducerCalls / 2], ms[ReducerCalls * 95 / 100], kept);
    }

    private static (string Table, string Json) Report(BenchOptions o, Run ours, Run whole, double reducerP50, double reducerP95, int kept)
    {
        int budget = new ModelLimits().PromptTokenBudget;
        long totalOurs = ours.InputTokens.Sum(t => (long)t), totalWhole = whole.InputTokens.Sum(t => (long)t);
        double ratio = (double)totalOurs / totalWhole;
        // Filled: the first turn whose whole history no longer fits the budget.
        int filled = whole.InputTokens.FindIndex(t => t > budget);
        var after = filled < 0 ? [] : ours.InputTokens.Skip(filled).ToList();
        bool flat = after.Count == 0 || after.Max() <= budget;
        bool recalled = ours.LastReply.Contains(Fact, StringComparison.Ordinal);
        static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

        var t = new StringBuilder();
        t.AppendLine($"Long conversation: {ours.InputTokens.Count} turns, the whole history sent each turn (useChat's shape), gpt-4o-mini's tokenizer, PROMPT_TOKEN_BUDGET {N(budget)}");
        t.AppendLine();
        t.AppendLine("| Turn | Prompt tokens, sent whole | Prompt tokens, with the budget |");
        t.AppendLine("| ---: | ---: | ---: |");
        foreach (int turn in new[] { 1, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 150, 200 }.Where(n => n <= ours.InputTokens.Count).Append(ours.InputTokens.Count).Distinct())
        {
            t.AppendLine($"| {turn} | {N(whole.InputTokens[turn - 1])} | {N(ours.InputTokens[turn - 1])} |");
        }
        t.AppendLine($"| **total input** | **{N(totalWhole)}** | **{N(totalOurs)}** ({F(ratio, "0.00")}×) |");
        t.AppendLine();
        t.AppendLine(after.Count == 0
            ? "The whole history never outgrew the budget."
            : $"After the budget filled (turn {filled + 1}), prompt tokens per turn: {N(after.Min())}–{N(after.Max())}.");
        t.AppendLine($"Reducer per call on the {ours.InputTokens.Count}-turn conversation ({kept} of {ours.InputTokens.Count * 2} messages kept): p50 {F(reducerP50, "0.00")} ms, p95 {F(reducerP95, "0.00")} ms.");
        t.AppendLine($"Turn time, median: {F(Median(ours.TurnMs), "0")} ms with the budget, {F(Median(whole.TurnMs), "0")} ms sent whole (fakes at 0 ms).");
        t.AppendLine($"The turn-1 fact ({Fact}) in the last reply, from memory: {(recalled ? "yes" : "no")}.");
        t.AppendLine();
        t.AppendLine("| Goal | Target | Measured | |");
        t.AppendLine("| --- | --- | --- | --- |");
        t.AppendLine($"| Prompt flat after filling | ≤ {N(budget)} | {(after.Count == 0 ? "-" : N(after.Max()))} | {(flat ? "PASS" : "FAIL")} |");
        t.AppendLine($"| Total input vs sent whole | ≤ 0.25× | {F(ratio, "0.00")}× | {(ratio <= 0.25 ? "PASS" : "FAIL")} |");
        t.AppendLine($"| Reducer p50 per call | ≤ 2 ms | {F(reducerP50, "0.00")} ms | {(reducerP50 <= 2 ? "PASS" : "FAIL")} |");

        var json = JsonSerializer.Serialize(new
        {
            longConversation = new
            {
                turns = ours.InputTokens.Count,
                promptTokenBudget = budget,
                inputTokensBudget = ours.InputTokens,
                inputTokensWhole = whole.InputTokens,
                totalBudget = totalOurs,
                totalWhole,
                ratio = Math.Round(ratio, 3),
                filledAtTurn = filled < 0 ? (int?)null : filled + 1,
                reducerP50Ms = Math.Round(reducerP50, 3),
                reducerP95Ms = Math.Round(reducerP95, 3),
                factRecalled = recalled,
                goals = new { flat, ratio = ratio <= 0.25, reducer = reducerP50 <= 2 },
            },
        });
        return (t.ToString(), json);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }
}
