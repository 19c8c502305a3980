-- pandoc filter for sluice.toml(5) (scripts/make-man): a man page cannot hold the docs' wide tables
-- (tbl squeezes their cells into columns a few letters wide, and man warns on every line), so each
-- row becomes a tagged paragraph: the first cell is the tag, the other cells follow, each with its
-- column's heading when the table has more than two columns.
local function cell_blocks(cell)
  return cell.contents or cell  -- pandoc >= 2.10 cells have .contents
end

local function inlines_of(blocks)
  local out = pandoc.List()
  for _, block in ipairs(blocks) do
    if block.content then out:extend(block.content) end
  end
  return out
end

function Table(tbl)
  local headings = {}
  if tbl.head and tbl.head.rows and #tbl.head.rows > 0 then
    for i, cell in ipairs(tbl.head.rows[1].cells) do headings[i] = inlines_of(cell_blocks(cell)) end
  end
  local items = pandoc.List()
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local cells = row.cells
      local term = inlines_of(cell_blocks(cells[1]))
      local definition = pandoc.List()
      for i = 2, #cells do
        local text = inlines_of(cell_blocks(cells[i]))
        if #cells > 2 and headings[i] and #headings[i] > 0 then
          local labelled = pandoc.List({pandoc.Emph(headings[i]), pandoc.Str(":"), pandoc.Space()})
          labelled:extend(text)
          text = labelled
        end
        if #text > 0 then definition:insert(pandoc.Para(text)) end
      end
      items:insert({term, {definition}})
    end
  end
  return pandoc.DefinitionList(items)
end

-- A long code word (a cipher list such as "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:...") is
-- wider than a terminal: give groff a place to break it after each ':' or ',' (\: breaks there
-- and prints nothing).
function Code(code)
  if #code.text <= 40 or not code.text:find('[:,]') then return nil end
  local escaped = code.text:gsub('\\', '\\e'):gsub('%-', '\\-'):gsub('"', '\\[dq]'):gsub("'", "\\[aq]")
  escaped = escaped:gsub('([:,])', '%1\\:')
  return pandoc.RawInline('man', '\\f[V]' .. escaped .. '\\f[R]')
end
