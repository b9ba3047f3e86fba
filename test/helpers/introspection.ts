/** The live schema as a client sees it through introspection, for catalog-style tests. */
import type { TestServer } from "./server";

export interface TypeRef {
  name: string | null;
  kind: string;
  ofType: TypeRef | null;
}
export interface InputValue {
  name: string;
  type: TypeRef;
}
export interface SchemaType {
  name: string;
  kind: string;
  inputFields: InputValue[] | null;
  enumValues: Array<{ name: string }> | null;
  fields: Array<{ name: string; args: InputValue[]; type: TypeRef }> | null;
}

const TYPE_REF = "name kind ofType { name kind ofType { name kind ofType { name kind } } }";

/** Every type of the schema, by name. */
export async function introspectTypes(server: TestServer): Promise<Map<string, SchemaType>> {
  const res = await server.graphql<{ __schema: { types: SchemaType[] } }>(
    `{ __schema { types { name kind enumValues { name } inputFields { name type { ${TYPE_REF} } }
       fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } } } } }`,
  );
  if (!res.data) throw new Error(`introspection failed: ${JSON.stringify(res.errors)}`);
  return new Map(res.data.__schema.types.map((type) => [type.name, type]));
}

/** The named type under any NON_NULL/LIST wrappers. */
export const namedType = (type: TypeRef): string => (type.ofType ? namedType(type.ofType) : type.name!);
