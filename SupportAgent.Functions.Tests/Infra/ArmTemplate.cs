using System.Text.Json;

namespace SupportAgent.Functions.Tests.Infra;

/// <summary>Reads a compiled ARM template (the output of <c>bicep build</c>).</summary>
internal static class ArmTemplate
{
    /// <summary>Every resource, including child resources and the resources of nested deployments (Bicep modules).</summary>
    public static IEnumerable<JsonElement> Resources(JsonElement template)
    {
        if (template.ValueKind != JsonValueKind.Object || !template.TryGetProperty("resources", out var resources))
        {
            yield break;
        }
        IEnumerable<JsonElement> items = resources.ValueKind switch
        {
            JsonValueKind.Array => resources.EnumerateArray(),
            // languageVersion 2.0 templates keep resources in an object keyed by symbolic name.
            JsonValueKind.Object => resources.EnumerateObject().Select(p => p.Value),
            _ => [],
        };
        foreach (var resource in items)
        {
            yield return resource;
            foreach (var child in Resources(resource))
            {
                yield return child;
            }
            if (resource.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
                && properties.TryGetProperty("template", out var nested))
            {
                foreach (var inner in Resources(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    public static string TypeOf(JsonElement resource) =>
        resource.TryGetProperty("type", out var type) ? type.GetString() ?? "" : "";

    public static string NameOf(JsonElement resource) =>
        resource.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() ?? "" : "";

    public static bool IsOfType(JsonElement resource, string fullType) =>
        string.Equals(TypeOf(resource), fullType, StringComparison.OrdinalIgnoreCase)
        // A child resource declared inside its parent carries only the last segment of the type.
        || string.Equals(TypeOf(resource), fullType[(fullType.LastIndexOf('/') + 1)..], StringComparison.OrdinalIgnoreCase);

    /// <summary>A <c>Microsoft.Web/sites/config</c> resource whose name ends in the given config name (literal or expression).</summary>
    public static bool IsSiteConfig(JsonElement resource, string configName)
    {
        if (!IsOfType(resource, "Microsoft.Web/sites/config"))
        {
            return false;
        }
        string name = NameOf(resource);
        return name.Equals(configName, StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("/" + configName, StringComparison.OrdinalIgnoreCase)
            || name.EndsWith($"'{configName}')]", StringComparison.OrdinalIgnoreCase);
    }

    public static IEnumerable<JsonElement> FunctionApps(JsonElement template) =>
        Resources(template).Where(r => IsOfType(r, "Microsoft.Web/sites"));

    public static bool TryGetPath(JsonElement element, out JsonElement value, params string[] path)
    {
        value = element;
        foreach (string part in path)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// The app settings the Bicep gives the function app: the keys of its single <c>Microsoft.Web/sites/config</c>
/// "appsettings" resource, with each value's template expression (values may be conditional; keys never are).
/// </summary>
internal sealed class BicepAppSettings
{
    private BicepAppSettings(IReadOnlyDictionary<string, string> values) => Values = values;

    /// <summary>Setting name → its value as written in the ARM template (a literal, or an expression in brackets).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public IReadOnlySet<string> Names => Values.Keys.ToHashSet(StringComparer.Ordinal);

    public static BicepAppSettings From(JsonElement template)
    {
        var resources = ArmTemplate.Resources(template).Where(r => ArmTemplate.IsSiteConfig(r, "appsettings")).ToList();
        if (resources.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected exactly one Microsoft.Web/sites/config 'appsettings' resource in infra/main.bicep, found {resources.Count}. " +
                "Keep the app settings in the one appSettings object applied by functionAppSettings, so this test sees all of them.");
        }
        var resource = resources[0];
        if (resource.TryGetProperty("condition", out _))
        {
            throw new InvalidOperationException("The 'appsettings' resource is conditional; the app settings must always be applied.");
        }
        if (!resource.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException(
                "The 'appsettings' resource's properties are not a literal object in the compiled template (an expression such as " +
                "union() hides the setting names). Keep every setting name as a key of the appSettings object and make only the values conditional.");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in properties.EnumerateObject())
        {
            values[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }
        return new BicepAppSettings(values);
    }
}
