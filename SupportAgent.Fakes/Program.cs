using System.Globalization;
using System.Runtime.InteropServices;
using SupportAgent.Fakes;

// Runs the fakes standalone, for a benchmark or a local demo of the app without real OpenAI / Mem0 accounts.

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

CommandLine cli;
try
{
    cli = CommandLine.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

await using var openAi = new FakeOpenAiServer(new FakeOpenAiServerOptions
{
    Port = cli.OpenAiPort,
    RequiredApiKey = cli.OpenAiKey,
    Latency = TimeSpan.FromMilliseconds(cli.ModelLatencyMs),
    StreamDuration = TimeSpan.FromMilliseconds(cli.ModelStreamMs),
});
await using var mem0 = cli.NoMem0 ? null : new FakeMem0Server(new FakeMem0ServerOptions
{
    Flavor = cli.Mem0Flavor,
    Port = cli.Mem0Port,
    ApiKey = cli.Mem0Key,
    // The app sends one key; make it the admin key too so the app's delete-all works against the server flavour.
    AdminApiKey = cli.Mem0Flavor == Mem0Flavor.Server ? cli.Mem0AdminKey ?? cli.Mem0Key : null,
    SearchLatency = TimeSpan.FromMilliseconds(cli.SearchLatencyMs),
    AddLatency = TimeSpan.FromMilliseconds(cli.AddLatencyMs),
    ProcessingDelay = TimeSpan.FromMilliseconds(cli.ProcessingDelayMs),
    RecordCapacity = cli.NoRecord ? 0 : 100_000,
});

await using var sink = cli.OtlpPort is { } otlpPort ? new FakeTelemetrySink(otlpPort, recordCapacity: cli.NoRecord ? 0 : 10_000) : null;

try
{
    await openAi.StartAsync();
    if (sink is not null)
    {
        await sink.StartAsync();
    }
    if (mem0 is not null)
    {
        await mem0.StartAsync();
    }
}
catch (IOException ex)
{
    Console.Error.WriteLine($"error: could not listen ({ex.Message}). Is the port in use? Pass --openai-port / --mem0-port (0 = any free port).");
    return 1;
}

string openAiKey = cli.OpenAiKey ?? "fake-openai-key";
Console.WriteLine($"Fake OpenAI       {openAi.BaseUrl}  (POST /v1/chat/completions, POST /openai/deployments/{{deployment}}/chat/completions)");
if (mem0 is not null)
{
    Console.WriteLine($"Fake Mem0 ({(mem0.Flavor == Mem0Flavor.Platform ? "platform" : "server")}) {mem0.BaseUrl}");
}
if (sink is not null)
{
    Console.WriteLine($"Telemetry sink      {sink.BaseUrl}  (OTLP/http: POST /v1/traces|metrics|logs; Azure Monitor: POST /v2.1/track; GET /_fake/stats)");
}
Console.WriteLine();
Console.WriteLine("Point the app at them with these settings (environment variables or local.settings.json \"Values\"):");
Console.WriteLine($"OPENAI_BASE_URL={openAi.OpenAiBaseUrl}");
Console.WriteLine($"OPENAI_API_KEY={openAiKey}");
if (mem0 is not null)
{
    Console.WriteLine($"MEM0_API={(mem0.Flavor == Mem0Flavor.Platform ? "platform" : "server")}");
    Console.WriteLine($"MEM0_BASE_URL={mem0.BaseUrl}");
    Console.WriteLine($"MEM0_API_KEY={cli.Mem0Key}");
}
Console.WriteLine();
Console.WriteLine($"# or, for the Azure OpenAI route instead of OPENAI_BASE_URL/OPENAI_API_KEY:");
Console.WriteLine($"# AZURE_OPENAI_ENDPOINT={openAi.AzureEndpoint}");
Console.WriteLine($"# AZURE_OPENAI_DEPLOYMENT=gpt-4o-mini");
Console.WriteLine($"# AZURE_OPENAI_API_KEY={openAiKey}");
Console.WriteLine($"# Control: GET /_fake/stats, POST /_fake/config, POST /_fake/reset on either server.");
Console.WriteLine("Running; press Ctrl-C (or send SIGTERM) to stop.");

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
await stop.Task;

Console.WriteLine("Stopping.");
await openAi.StopAsync();
if (mem0 is not null)
{
    await mem0.StopAsync();
}
return 0;

void OnSignal(PosixSignalContext context)
{
    context.Cancel = true; // we shut down ourselves, cleanly
    stop.TrySetResult();
}

/// <summary>The command line: <c>--name value</c> pairs and a few switches.</summary>
internal sealed record CommandLine(
    int OpenAiPort,
    int Mem0Port,
    Mem0Flavor Mem0Flavor,
    string Mem0Key,
    string? Mem0AdminKey,
    string? OpenAiKey,
    bool NoMem0,
    bool NoRecord,
    int ModelLatencyMs,
    int ModelStreamMs,
    int SearchLatencyMs,
    int AddLatencyMs,
    int ProcessingDelayMs,
    int? OtlpPort = null)
{
    public const string Usage = """
        usage: dotnet run --project SupportAgent.Fakes -- [options]
          --openai-port N            port of the fake OpenAI server (default 5100; 0 = any free port)
          --mem0-port N              port of the fake Mem0 server (default 5200; 0 = any free port)
          --mem0-api platform|server which Mem0 API to speak (default platform)
          --mem0-key KEY             Mem0 API key the fake requires (default fake-mem0-key)
          --mem0-admin-key KEY       server flavour: the admin key (default: same as --mem0-key)
          --openai-key KEY           require this OpenAI key (default: accept any)
          --no-mem0                  run only the OpenAI fake
          --model-latency-ms N       added to every chat completion; for a stream, its time to first token (default 0)
          --model-stream-ms N        streams only: time from the first content chunk to the last (default 0)
          --search-latency-ms N      added to every Mem0 search (default 0)
          --add-latency-ms N         added to every Mem0 add (default 0)
          --processing-delay-ms N    platform flavour: time an add stays PENDING before it is searchable (default 0)
          --no-record                keep no request log (counters still count); for long benchmarks
          --otlp-port N              also run a telemetry sink (OTLP/http and Azure Monitor ingestion) on this port
                                     (0 = any free port); it counts what exporters send and answers success
        """;

    public static CommandLine Parse(string[] args)
    {
        var cli = new CommandLine(5100, 5200, Mem0Flavor.Platform, "fake-mem0-key", null, null, false, false, 0, 0, 0, 0, 0);
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Int(int min, int max)
            {
                string text = Value();
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
                    ? n
                    : throw new ArgumentException($"{name} must be a whole number from {min} to {max}, not '{text}'.");
            }
            cli = name switch
            {
                "--openai-port" => cli with { OpenAiPort = Int(0, 65535) },
                "--mem0-port" => cli with { Mem0Port = Int(0, 65535) },
                "--mem0-api" => cli with
                {
                    Mem0Flavor = Value().ToLowerInvariant() switch
                    {
                        "platform" => Mem0Flavor.Platform,
                        "server" or "selfhosted" or "self-hosted" or "oss" => Mem0Flavor.Server,
                        var other => throw new ArgumentException($"--mem0-api must be platform or server, not '{other}'."),
                    },
                },
                "--mem0-key" => cli with { Mem0Key = Value() },
                "--mem0-admin-key" => cli with { Mem0AdminKey = Value() },
                "--openai-key" => cli with { OpenAiKey = Value() },
                "--no-mem0" => cli with { NoMem0 = true },
                "--no-record" => cli with { NoRecord = true },
                "--otlp-port" => cli with { OtlpPort = Int(0, 65535) },
                "--model-latency-ms" => cli with { ModelLatencyMs = Int(0, 600_000) },
                "--model-stream-ms" => cli with { ModelStreamMs = Int(0, 600_000) },
                "--search-latency-ms" => cli with { SearchLatencyMs = Int(0, 600_000) },
                "--add-latency-ms" => cli with { AddLatencyMs = Int(0, 600_000) },
                "--processing-delay-ms" => cli with { ProcessingDelayMs = Int(0, 600_000) },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }
        return cli;
    }
}
