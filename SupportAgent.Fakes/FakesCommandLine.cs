using System.CommandLine;
using System.CommandLine.Parsing;

namespace SupportAgent.Fakes;

/// <summary>What the fakes were asked to run, as parsed from the command line.</summary>
internal sealed record FakesArguments(
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
    int? OtlpPort);

/// <summary>The fakes' command line (System.CommandLine): options, defaults, ranges and help in one place.</summary>
internal static class FakesCommandLine
{
    public static RootCommand Create(Func<FakesArguments, Task<int>> run)
    {
        var openAiPort = Port("--openai-port", 5100, "Port of the fake OpenAI server (0 = any free port)");
        var mem0Port = Port("--mem0-port", 5200, "Port of the fake Mem0 server (0 = any free port)");
        var mem0Api = new Option<Mem0Flavor>("--mem0-api")
        {
            Description = "Which Mem0 API to speak: platform or server",
            HelpName = "platform|server",
            DefaultValueFactory = _ => Mem0Flavor.Platform,
            CustomParser = ParseFlavor,
        };
        var mem0Key = new Option<string>("--mem0-key")
        {
            Description = "Mem0 API key the fake requires",
            DefaultValueFactory = _ => "fake-mem0-key",
        };
        var mem0AdminKey = new Option<string?>("--mem0-admin-key") { Description = "Server flavour: the admin key (default: the same as --mem0-key)" };
        var openAiKey = new Option<string?>("--openai-key") { Description = "Require this OpenAI key (default: accept any)" };
        var noMem0 = new Option<bool>("--no-mem0") { Description = "Run only the OpenAI fake" };
        var modelLatency = Milliseconds("--model-latency-ms", "Added to every chat completion; for a stream, its time to first token");
        var modelStream = Milliseconds("--model-stream-ms", "Streams only: time from the first content chunk to the last");
        var searchLatency = Milliseconds("--search-latency-ms", "Added to every Mem0 search");
        var addLatency = Milliseconds("--add-latency-ms", "Added to every Mem0 add");
        var processingDelay = Milliseconds("--processing-delay-ms", "Platform flavour: time an add stays PENDING before it is searchable");
        var noRecord = new Option<bool>("--no-record") { Description = "Keep no request log (counters still count); for long benchmarks" };
        var otlpPort = new Option<int?>("--otlp-port")
        {
            Description = "Also run a telemetry sink (OTLP/http and Azure Monitor ingestion) on this port (0 = any free port); it counts what exporters send and answers success",
        };
        otlpPort.Validators.Add(r => InRange(r, r.GetValueOrDefault<int?>() ?? 0, 0, 65535));

        var root = new RootCommand("Fake OpenAI / Azure OpenAI and Mem0 servers (and a telemetry sink) for benchmarks and local runs without accounts.")
        {
            openAiPort, mem0Port, mem0Api, mem0Key, mem0AdminKey, openAiKey, noMem0, modelLatency, modelStream,
            searchLatency, addLatency, processingDelay, noRecord, otlpPort,
        };
        root.SetAction(parse => run(new FakesArguments(
            parse.GetValue(openAiPort),
            parse.GetValue(mem0Port),
            parse.GetValue(mem0Api),
            parse.GetValue(mem0Key)!,
            parse.GetValue(mem0AdminKey),
            parse.GetValue(openAiKey),
            parse.GetValue(noMem0),
            parse.GetValue(noRecord),
            parse.GetValue(modelLatency),
            parse.GetValue(modelStream),
            parse.GetValue(searchLatency),
            parse.GetValue(addLatency),
            parse.GetValue(processingDelay),
            parse.GetValue(otlpPort))));
        return root;
    }

    private static Option<int> Port(string name, int defaultPort, string description)
    {
        var option = new Option<int>(name) { Description = description, HelpName = "port", DefaultValueFactory = _ => defaultPort };
        option.Validators.Add(r => InRange(r, r.GetValueOrDefault<int>(), 0, 65535));
        return option;
    }

    private static Option<int> Milliseconds(string name, string description)
    {
        var option = new Option<int>(name) { Description = description, HelpName = "ms", DefaultValueFactory = _ => 0 };
        option.Validators.Add(r => InRange(r, r.GetValueOrDefault<int>(), 0, 600_000));
        return option;
    }

    private static void InRange(OptionResult result, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            result.AddError($"{result.Option.Name} must be from {min} to {max}, not {value}.");
        }
    }

    private static Mem0Flavor ParseFlavor(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        switch (text.ToLowerInvariant())
        {
            case "platform":
                return Mem0Flavor.Platform;
            case "server" or "selfhosted" or "self-hosted" or "oss":
                return Mem0Flavor.Server;
            default:
                result.AddError($"--mem0-api must be platform or server, not '{text}'.");
                return Mem0Flavor.Platform;
        }
    }
}
