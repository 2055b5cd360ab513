using System.Reflection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.Azure.Functions.Worker;

namespace SupportAgent.SelfHost;

/// <summary>
/// Serves the function app's HTTP-triggered functions with ASP.NET Core, found by the same attributes the Functions
/// SDK reads ([Function] + [HttpTrigger]): same routes, same methods, the same class instantiated per request.
/// </summary>
public static class HttpFunctionEndpoints
{
    public static IReadOnlyList<string> MapHttpFunctions(this IEndpointRouteBuilder endpoints, Assembly functionsAssembly, string routePrefix)
    {
        var mapped = new List<string>();
        foreach (var type in functionsAssembly.GetExportedTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null);
                if (function is null || trigger is null)
                {
                    continue;
                }
                string route = string.Join('/', new[] { routePrefix, trigger.Route ?? function.Name }.Where(s => !string.IsNullOrEmpty(s)));
                string[] methods = (trigger.Methods is { Length: > 0 } m ? m : ["get", "post"]).Select(x => x.ToUpperInvariant()).ToArray();
                var invoke = CreateInvoker(type, method);
                endpoints.MapMethods("/" + route, methods, invoke).WithName(function.Name);
                mapped.Add($"{string.Join(",", methods)} /{route}");
            }
        }
        return mapped;
    }

    private static RequestDelegate CreateInvoker(Type type, MethodInfo method)
    {
        var parameters = method.GetParameters();
        foreach (var p in parameters)
        {
            if (p.ParameterType != typeof(HttpRequest) && p.ParameterType != typeof(CancellationToken) && p.ParameterType != typeof(string))
            {
                throw new NotSupportedException($"{type.Name}.{method.Name}: the self host passes only HttpRequest, CancellationToken and route values (string), not {p.ParameterType.Name}.");
            }
        }
        if (method.ReturnType != typeof(Task<IActionResult>))
        {
            throw new NotSupportedException($"{type.Name}.{method.Name}: the self host runs HTTP functions that return Task<IActionResult>.");
        }
        var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);

        return async context =>
        {
            object function = factory(context.RequestServices, null);
            // Route values bind to string parameters of the same name, as the Functions host binds them.
            var args = parameters.Select(p =>
                p.ParameterType == typeof(HttpRequest) ? context.Request
                : p.ParameterType == typeof(CancellationToken) ? (object)context.RequestAborted
                : context.GetRouteValue(p.Name!)?.ToString()).ToArray();
            var result = await (Task<IActionResult>)method.Invoke(function, args)!;
            await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
        };
    }
}
