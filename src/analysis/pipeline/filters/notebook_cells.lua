-- Notebook pages (pandoc's ipynb reader): every code cell with a Quarto label
-- (`#| label: fig-x`) gets the anchor `cell-fig-x`, the name Quarto's notebook previews
-- use, and a visible "cell fig-x" line linking to itself, so that the report's
-- "Source: 01_retention.ipynb, cell fig-x" links open the page at that cell.

local function label_of(div)
  for _, block in ipairs(div.content) do
    if block.t == "CodeBlock" then
      for line in (block.text .. "\n"):gmatch("([^\n]*)\n") do
        if line:sub(1, 2) ~= "#|" then return nil end
        local label = line:match("^#|%s*label:%s*[\"']?([%w_%-]+)[\"']?%s*$")
        if label then return label end
      end
      return nil
    end
  end
  return nil
end

function Div(div)
  if not (div.classes:includes("cell") and div.classes:includes("code")) then return nil end
  local label = label_of(div)
  if not label then return nil end
  div.identifier = "cell-" .. label
  local badge = pandoc.Div({ pandoc.Plain({ pandoc.Link(pandoc.Str("cell " .. label),
    "#cell-" .. label) }) }, pandoc.Attr("", { "cell-label" }))
  div.content:insert(1, badge)
  return div
end
